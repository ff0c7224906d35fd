"""Settings, engines and migrations on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import platformdirs
import pytest
from alembic import command
from pydantic import ValidationError
from sqlalchemy import inspect, text

from service.core.audit import AuditLog
from service.core.config import Settings, get_settings
from service.core.db import SpatiaLiteMissingError, alembic_config, make_engine, migrate


@pytest.mark.parametrize(
    "url", ["postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg2://u@h/db"]
)
def test_postgres_urls_use_psycopg3(url):
    assert Settings(database_url=url, _env_file=None).database_url == "postgresql+psycopg://u@h/db"


def test_defaults_and_env(monkeypatch, tmp_path):
    monkeypatch.delenv("JIEDAO_DATABASE_URL", raising=False)
    monkeypatch.delenv("JIEDAO_DATA_DIR", raising=False)
    monkeypatch.setenv("JIEDAO_KEY_ROAD_M", "20")
    monkeypatch.setenv("JIEDAO_TIANDITU_KEY", "abc")
    settings = Settings(_env_file=None)
    assert settings.key_road_m == 20
    assert settings.tianditu_key == "abc"
    # The embedded database is in the user's data directory, not under the current folder.
    default_dir = Path(platformdirs.user_data_dir("jiedao")).resolve()
    assert settings.data_dir == default_dir
    assert settings.database_url == f"sqlite:///{default_dir / 'jiedao.sqlite'}"
    assert settings.database_label == f"SpatiaLite file {default_dir / 'jiedao.sqlite'}"
    assert settings.is_sqlite
    assert (settings.duplicate_radius_m, settings.duplicate_window_hours) == (50, 24)
    assert settings.resolve_params().key_road_m == 20


def test_get_settings_is_cached():
    assert get_settings() is get_settings()


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"database_url": "mysql://u@h/db"}, "sqlite:///"),
        ({"near_boundary_m": 200.0}, "boundary_search_m"),
        ({"duplicate_radius_m": 0}, "greater than 0"),
    ],
)
def test_bad_settings(fields, words):
    with pytest.raises(ValidationError, match=words):
        Settings(_env_file=None, **fields)


def test_missing_spatialite_says_how_to_install(tmp_path):
    engine = make_engine(
        f"sqlite:///{tmp_path / 'x.sqlite'}", spatialite_library="/nonexistent/mod_spatialite"
    )
    with (
        pytest.raises(SpatiaLiteMissingError, match="apt-get install libsqlite3-mod-spatialite"),
        engine.connect(),
    ):
        pass
    engine.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "mysql://u@h/db"])
def test_unusable_urls(url):
    with pytest.raises(ValueError, match="sqlite:///"):
        make_engine(url)


def test_spatialite_pragmas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db' / 'x.sqlite'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("SELECT CheckSpatialMetaData()")).scalar() > 0
    engine.dispose()


def test_migration_is_idempotent_and_matches_models(app_client, settings):
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)  # already at head: a no-op
        command.check(alembic_config(engine))  # raises if the models drifted from 0001
        tables = set(inspect(engine).get_table_names())
        assert {
            "incidents",
            "communities",
            "key_roads",
            "stations",
            "places",
            "squads",
            "layer_versions",
            "audit_log",
        } <= tables
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                indexed = set(
                    conn.execute(
                        text(
                            "SELECT f_table_name FROM geometry_columns "
                            "WHERE spatial_index_enabled = 1"
                        )
                    ).scalars()
                )
            else:
                indexed = set(
                    conn.execute(
                        text("SELECT tablename FROM pg_indexes WHERE indexdef LIKE '%USING gist%'")
                    ).scalars()
                )
        assert {"incidents", "communities", "key_roads", "stations", "places"} <= indexed
    finally:
        engine.dispose()


def test_times_are_stored_in_utc_and_read_aware(client):
    factory = client.app.state.sessionmaker
    beijing = timezone(timedelta(hours=8))
    when = datetime(2026, 11, 27, 9, 30, tzinfo=beijing)
    with factory() as session:
        row = AuditLog(at=when, actor="t", action="a", entity="e", detail={"k": "坭岗"})
        session.add(row)
        session.commit()
        row_id = row.id
    with factory() as session:
        stored = session.get(AuditLog, row_id)
        assert stored.at == when
        assert stored.at.tzinfo is not None
        assert stored.at.utcoffset() == timedelta(0)
        assert stored.detail == {"k": "坭岗"}
        session.add(AuditLog(at=datetime(2026, 1, 1), actor="t", action="a", entity="e", detail={}))
        with pytest.raises(Exception, match="naive"):
            session.flush()


def test_data_dir_puts_the_database_in_one_place_whatever_the_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("JIEDAO_DATABASE_URL", raising=False)
    monkeypatch.setenv("JIEDAO_DATA_DIR", str(tmp_path / "data"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = Settings(_env_file=None)
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'jiedao.sqlite'}"
    # An explicit URL wins over the data directory.
    monkeypatch.setenv("JIEDAO_DATABASE_URL", "postgresql://u:secret@h/db")
    explicit = Settings(_env_file=None)
    assert explicit.database_url == "postgresql+psycopg://u:secret@h/db"
    assert "secret" not in explicit.database_label
