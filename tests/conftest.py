"""Shared fixtures: a test layer pack and the service on both databases.

``db_url`` is parametrised over SpatiaLite (a temporary file) and PostGIS (the URL in
``JIEDAO_TEST_POSTGIS_URL``, e.g. ``postgresql://postgres@/jiedao_test?host=/var/run/postgresql``).
PostGIS tests skip when the URL is unset or the server unreachable, except when ``CI=true``,
where they fail: CI may not skip them.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text
from starlette.exceptions import StarletteDeprecationWarning

import layers
from service import layerstore
from service.config import Settings
from service.db import make_engine
from service.main import create_app
from service.models import AuditLog, Incident, LayerVersion

with warnings.catch_warnings():
    # Starlette prefers httpx2 and warns when only httpx is installed; both work.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

TEST_PACK = Path(__file__).resolve().parent / "data" / "pack"
POSTGIS_ENV = "JIEDAO_TEST_POSTGIS_URL"
_OUR_TABLES = ("incidents", "places", "stations", "key_roads", "squads", "communities",
               "layer_versions", "audit_log", "alembic_version")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _postgis_url() -> str:
    url = os.environ.get(POSTGIS_ENV)
    if not url:
        message = f"{POSTGIS_ENV} is not set; PostGIS tests need a server."
        if _in_ci():
            pytest.fail(message + " CI must run them: start PostGIS and set the variable.")
        pytest.skip(message)
    engine = make_engine(Settings(database_url=url).database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            # A clean slate: our tables only (the postgis extension owns its own).
            for table in _OUR_TABLES:
                conn.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    except Exception as exc:
        message = f"PostGIS at {url} is unreachable or unusable: {exc}"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def test_pack() -> layers.LayerPack:
    """The hand-made squares pack: three communities, two squads, one key road."""
    return layers.read_pack(TEST_PACK)


@pytest.fixture(scope="session", params=["spatialite",
                                         pytest.param("postgis", marks=pytest.mark.postgis)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty database of each kind."""
    if request.param == "spatialite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'jiedao.sqlite'}"
    return _postgis_url()


@pytest.fixture(scope="session")
def settings(db_url: str) -> Settings:
    """Settings for the test database with the test pack."""
    return Settings(database_url=db_url, layer_pack=TEST_PACK, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def app_client(settings: Settings) -> Iterator[TestClient]:
    """The app on one database, started once (migrated, test pack imported)."""
    with TestClient(create_app(settings)) as client:
        yield client


def _reset(client: TestClient, pack: layers.LayerPack) -> None:
    factory = client.app.state.sessionmaker  # type: ignore[attr-defined]
    with factory() as session:
        session.execute(delete(Incident))
        session.execute(delete(AuditLog))
        base = session.scalar(select(LayerVersion).where(LayerVersion.label == pack.label))
        if base is None:
            base = layerstore.import_pack(session, pack, actor="test", activate=True)
        elif not base.active:
            layerstore.activate_version(session, base.id, actor="test")
        for version in layerstore.list_versions(session):
            if version.id != base.id:
                session.delete(version)
        session.flush()
        session.execute(delete(AuditLog))
        session.commit()


@pytest.fixture
def client(app_client: TestClient, test_pack: layers.LayerPack) -> TestClient:
    """The app with no incidents and only the test pack, active."""
    _reset(app_client, test_pack)
    return app_client
