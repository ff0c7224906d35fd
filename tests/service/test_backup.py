"""``jiedao backup`` and ``jiedao restore`` on both databases: a backup taken while the service
writes restores into a fresh database with every table equal, row for row, to the snapshot."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, inspect
from typer.testing import CliRunner

from service import tables
from service.cli import app as cli
from service.core.backup import BackupError, backup_database, restore_database
from service.core.config import get_settings
from service.core.db import make_engine, migrate
from tests.service.helpers import MEIYUAN, as_, body, device, offset_m

# Every table of the schema; rows are compared sorted, whole.
_SCHEMA_TABLES = (*sorted(tables.metadata.tables), "alembic_version")


def _snapshot(engine: Engine) -> dict[str, list[str]]:
    """Every row of every jiedao table (its repr: JSON columns read as dicts), sorted: what a
    restore must give back."""
    present = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {
            name: sorted(
                repr(tuple(row)) for row in conn.exec_driver_sql(f'SELECT * FROM "{name}"')
            )
            for name in _SCHEMA_TABLES
            if name in present
        }


@pytest.fixture
def fresh_url(client: Any, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as the client's, on the same server."""
    source = client.app.state.engine.url
    if source.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite'}"
        return
    name = f"jiedao_restore_{os.getpid()}"
    admin = source.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    yield source.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _a_working_day(client: Any) -> None:
    """A unit with a position, an incident and its assignment: every domain writes."""
    client.post(
        "/units",
        headers=as_(client, "admin"),
        json={
            "unit_id": "w1",
            "name": "west car",
            "squad": "west",
            "mode": "car",
            "status": "available",
        },
    ).raise_for_status()
    client.post(
        "/units/w1/positions",
        headers=device(client, "w1"),
        json={"at": datetime.now(UTC).isoformat(), "lon": MEIYUAN[0], "lat": MEIYUAN[1]},
    ).raise_for_status()
    made = client.post("/incidents", json=_report(0))
    made.raise_for_status()
    client.post(
        f"/incidents/{made.json()['id']}/assignments", json={"unit_id": "w1"}
    ).raise_for_status()


def _report(k: int) -> dict[str, Any]:
    """The k-th report of a run: 30 m apart, so none is a duplicate of another."""
    return body(offset_m(MEIYUAN, 30 * (k % 20), 30 * (k // 20)), description=f"report {k}")


def test_a_backup_taken_while_writing_restores_every_row(
    client: Any, fresh_url: str, tmp_path: Path
) -> None:
    _a_working_day(client)
    acknowledged: list[str] = []  # the descriptions of the reports answered 201
    started_backup = threading.Event()
    stop = threading.Event()

    def file_reports() -> None:
        k = 1
        while not stop.is_set() and k < 400:
            answer = client.post("/incidents", json=_report(k))
            assert answer.status_code == 201, answer.text
            acknowledged.append(f"report {k}")
            if k == 20:
                started_backup.set()
            k += 1

    writer = threading.Thread(target=file_reports)
    writer.start()
    try:
        assert started_backup.wait(60)
        before = list(acknowledged)
        summary = backup_database(
            client.app.state.engine, tmp_path / "day.backup", tables=("incidents",)
        )
    finally:
        stop.set()
        writer.join(60)
    assert summary.path.stat().st_size > 0
    assert not list(tmp_path.glob(".day.backup.partial*"))

    target = make_engine(fresh_url)
    try:
        restore_database(target, summary.path)
        migrate(target)
        restored = _snapshot(target)
        with target.connect() as conn:
            descriptions = list(conn.exec_driver_sql("SELECT description FROM incidents").scalars())
    finally:
        target.dispose()
    source = _snapshot(client.app.state.engine)

    # Everything acknowledged before the backup began is in it, and nothing else is doubled.
    assert set(before) <= set(descriptions)
    assert len(set(descriptions)) == len(descriptions)
    # The backup is a snapshot of the source: each restored table is the source as it was
    # then, so every row restored is a row of the source, whole; the tables nobody wrote to
    # during the backup are equal.
    assert restored.keys() == source.keys()
    for name, rows in restored.items():
        assert set(rows) <= set(source[name]), name
        if name not in ("incidents", "incident_events", "audit_log", "auth_sessions"):
            assert rows == source[name], name
    assert restored["units"], "the working day's unit is in the backup"
    assert restored["assignments"], "and its assignment"


def test_a_quiet_database_round_trips_exactly(client: Any, fresh_url: str, tmp_path: Path) -> None:
    _a_working_day(client)
    path = tmp_path / "quiet.backup"
    backup_database(client.app.state.engine, path)
    target = make_engine(fresh_url)
    try:
        restore_database(target, path)
        assert _snapshot(target) == _snapshot(client.app.state.engine)
        with pytest.raises(BackupError, match="already holds jiedao data") as refused:
            restore_database(target, path)
        assert "--replace" in refused.value.fix
        restore_database(target, path, replace=True)
        assert _snapshot(target) == _snapshot(client.app.state.engine)
    finally:
        target.dispose()


def test_a_backup_of_the_other_kind_is_refused_with_the_fix(
    client: Any, fresh_url: str, tmp_path: Path
) -> None:
    other = tmp_path / "other.backup"
    if client.app.state.engine.url.get_backend_name() == "sqlite":
        other.write_bytes(b"PGDMP" + bytes(100))
        fix = "postgresql://"
    else:
        other.write_bytes(b"SQLite format 3\x00" + bytes(100))
        fix = "sqlite:///"
    target = make_engine(fresh_url)
    try:
        with pytest.raises(BackupError) as refused:
            restore_database(target, other)
        assert fix in refused.value.fix
        assert "alembic_version" not in inspect(target).get_table_names(), "nothing restored"
    finally:
        target.dispose()


def test_the_cli_backs_up_and_refuses_to_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)  # no stray .env
    backup_file = str(tmp_path / "b" / "demo.backup")

    def run(data: str, *args: str) -> Any:
        monkeypatch.setenv("JIEDAO_DATABASE_URL", f"sqlite:///{tmp_path / data / 'j.sqlite'}")
        get_settings.cache_clear()
        try:
            return runner.invoke(cli, list(args))
        finally:
            get_settings.cache_clear()

    made = run("data", "demo", "--days", "3")
    assert made.exit_code == 0, made.output
    backed = run("data", "backup", backup_file)
    assert backed.exit_code == 0, backed.output
    assert f"jiedao restore {backup_file}" in backed.output
    assert "incidents" in backed.output
    again = run("data", "restore", backup_file)
    assert again.exit_code == 1
    assert "--replace" in again.output
    restored = run("other", "restore", backup_file)
    assert restored.exit_code == 0, restored.output
    source = make_engine(f"sqlite:///{tmp_path / 'data' / 'j.sqlite'}")
    target = make_engine(f"sqlite:///{tmp_path / 'other' / 'j.sqlite'}")
    try:
        assert _snapshot(target) == _snapshot(source)
        assert _snapshot(target)["incidents"], "the demo's incidents came back"
    finally:
        source.dispose()
        target.dispose()
