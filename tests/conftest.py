"""Shared fixtures: test layer packs and the service on both databases.

``test_pack`` is the pack folder ``tests/data/pack`` (three 0.01-degree squares, as stored by the
service tests); ``squares_pack`` is an in-memory pack of two 1.5 km squares with places, for the
demo generator and the map renderer (``squares_pack_without_places`` lacks the places layer).

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

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box
from sqlalchemy import delete, func, select, text
from starlette.exceptions import StarletteDeprecationWarning

import layers
from layers.pack import LayerPack
from service.app import create_app
from service.auth import people
from service.auth import store as people_store
from service.casefiles.models import CaseDocument, CaseFile
from service.core.audit import AuditLog
from service.core.config import Settings
from service.core.db import make_engine
from service.dispatch.models import (
    Assignment,
    BackupRequest,
    DutyRoster,
    IncidentEvent,
    Unit,
    UnitPing,
    UnitStatusEvent,
)
from service.incidents.models import Incident
from service.layers import service as layerstore
from service.layers.models import LayerVersion
from service.ledger.models import LedgerAward, LedgerDispute, LedgerFinding
from service.organisation.models import OrganisationVersion
from service.plans import jobs as plan_jobs
from service.plans.models import PatrolPlanRecord, PlanJob
from service.reports.models import DailyReport, ReportItem

with warnings.catch_warnings():
    # Starlette prefers httpx2 and warns when only httpx is installed; both work.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

TEST_PACK = Path(__file__).resolve().parent / "data" / "pack"
POSTGIS_ENV = "JIEDAO_TEST_POSTGIS_URL"
_OUR_TABLES = (
    "ledger_findings",
    "ledger_disputes",
    "ledger_awards",
    "case_documents",
    "case_files",
    "daily_report_items",
    "daily_reports",
    "organisation_versions",
    "plan_jobs",
    "auth_sessions",
    "users",
    "device_tokens",
    "api_clients",
    "backup_requests",
    "incident_events",
    "assignments",
    "unit_positions",
    "unit_status_events",
    "duty_roster",
    "units",
    "patrol_plans",
    "road_segments",
    "incidents",
    "places",
    "stations",
    "key_roads",
    "squads",
    "communities",
    "layer_versions",
    "audit_log",
    "alembic_version",
)


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


def _squares_pack(*, with_places: bool) -> LayerPack:
    """Two 1.5 km squares near Qingshuihe: west (squad 1) and east (squad 2)."""
    communities = gpd.GeoDataFrame(
        {
            "code": ["440303010002", "440303010001"],
            "name_zh": ["西社区", "东社区"],
            "name_pinyin": ["Xi", "Dong"],
            "name_en": ["West", "East"],
            "aliases": [[], []],
            "squad": ["west", "east"],
        },
        geometry=[box(114.080, 22.570, 114.095, 22.585), box(114.095, 22.570, 114.110, 22.585)],
        crs="EPSG:4326",
    )
    roads = gpd.GeoDataFrame(
        {
            "road_id": ["w-road", "e-road"],
            "name_zh": ["西路", "东路"],
            "name_pinyin": ["", ""],
            "road_class": ["primary", "primary"],
            "squad": ["west", "east"],
        },
        geometry=[
            LineString([(114.081, 22.5775), (114.094, 22.5775)]),
            LineString([(114.1025, 22.571), (114.1025, 22.584)]),
        ],
        crs="EPSG:4326",
    )
    stations = gpd.GeoDataFrame(
        {
            "code": ["base", "police"],
            "name_zh": ["执法队驻点", "派出所"],
            "name_en": ["Base", "Police"],
            "kind": ["enforcement_base", "police_station"],
            "squad": ["west", ""],
        },
        geometry=[Point(114.092, 22.576), Point(114.098, 22.578)],
        crs="EPSG:4326",
    )
    places = gpd.GeoDataFrame(
        {
            "place_id": [f"p{i}" for i in range(7)],
            "name_zh": ["地铁站", "菜市场", "城中村", "学校", "工地", "花园小区", "商业街"],
            "kind": [
                "metro",
                "market",
                "urban_village",
                "school",
                "construction",
                "residential",
                "commercial_street",
            ],
            "community": ["440303010002"] * 4 + ["440303010001"] * 3,
        },
        geometry=[
            Point(114.085, 22.575),
            Point(114.090, 22.580),
            Point(114.088, 22.573),
            Point(114.083, 22.582),
            Point(114.100, 22.580),
            Point(114.105, 22.574),
            Point(114.107, 22.582),
        ],
        crs="EPSG:4326",
    )
    squads = pd.DataFrame(
        {
            "code": ["west", "east"],
            "name_zh": ["巡查一中队", "巡查二中队"],
            "name_en": ["Squad 1 (west)", "Squad 2 (east)"],
            "base_station": ["base", None],
        }
    )
    return LayerPack(
        name="squares",
        version="test",
        communities=communities,
        key_roads=roads,
        stations=stations,
        squads=squads,
        places=places if with_places else None,
        metadata={"official": False, "status": "hand-made test squares"},
    )


@pytest.fixture(scope="session")
def squares_pack() -> LayerPack:
    """Two hand-made 1.5 km squares, two squads, two key roads, two stations, seven places."""
    return _squares_pack(with_places=True)


@pytest.fixture(scope="session")
def squares_pack_without_places() -> LayerPack:
    """:func:`squares_pack` without its places layer."""
    return _squares_pack(with_places=False)


@pytest.fixture(
    scope="session", params=["spatialite", pytest.param("postgis", marks=pytest.mark.postgis)]
)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty database of each kind."""
    if request.param == "spatialite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'jiedao.sqlite'}"
    return _postgis_url()


@pytest.fixture(scope="session")
def settings(db_url: str) -> Settings:
    """Settings for the test database with the test pack."""
    return Settings(  # type: ignore[call-arg]
        database_url=db_url,
        layer_pack=TEST_PACK,
        _env_file=None,
        secret_key="test-signing-key-of-at-least-32-bytes-0123456789",
        access_token_minutes=12 * 60,  # the test session outlives the default 15 minutes
        # One app serves the whole session from one address; test_rate_limits sets its own.
        intake_rate_per_user="1000000/minute",
        intake_rate_per_address="1000000/minute",
    )


# The test users: one per role, and a second where a test needs two people of one role (the
# case team's verifier is not its handler) or two scopes (two communities, two squads).
TEST_USERS: dict[str, tuple[str, str | None, str | None]] = {
    "info": ("info_officer", "440303010002", None),  # 梅园
    "info-qsh": ("info_officer", "440303010003", None),  # 清水河
    "head": ("group_head", "440303010002", None),  # 梅园's community police officer
    "head-qsh": ("group_head", "440303010003", None),
    "squad-west": ("squad_leader", None, "west"),
    "squad-east": ("squad_leader", None, "east"),
    "dispatch": ("dispatcher", None, None),
    "dispatch2": ("dispatcher", None, None),
    "case": ("case_team", None, None),
    "case2": ("case_team", None, None),
    "backup": ("backup_team", None, None),
    "leader": ("leader", None, None),
    "admin": ("admin", None, None),
}
TEST_PASSWORD = "test-password-0123"


def _sign_in_test_users(client: TestClient) -> dict[str, str]:
    factory = client.app.state.sessionmaker  # type: ignore[attr-defined]
    with factory() as session:
        for key, (role, community, squad) in TEST_USERS.items():
            if people_store.user_by_name(session, f"t-{key}") is None:
                people.create_user(
                    session,
                    username=f"t-{key}",
                    title=f"test {role}",
                    role=role,
                    community=community,
                    squad=squad,
                    password=TEST_PASSWORD,
                    actor="test",
                )
        session.commit()
    tokens = {}
    for key in TEST_USERS:
        answer = client.post(
            "/auth/token", data={"username": f"t-{key}", "password": TEST_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        tokens[key] = answer.json()["access_token"]
    return tokens


@pytest.fixture(scope="session")
def app_client(settings: Settings) -> Iterator[TestClient]:
    """The app on one database, started once (migrated, test pack imported, test users
    signed in: ``app.state.test_tokens[key]``)."""
    with TestClient(create_app(settings)) as client:
        client.app.state.test_tokens = _sign_in_test_users(client)  # type: ignore[attr-defined]
        yield client


def _reset(client: TestClient, pack: layers.LayerPack) -> None:
    # A plan job left running by the test before (the fuzz queues some) finishes first.
    assert plan_jobs.wait_idle(timeout_s=300), "a plan job is still running after 5 minutes"
    factory = client.app.state.sessionmaker  # type: ignore[attr-defined]
    with factory() as session:
        for model in (
            LedgerFinding,
            LedgerDispute,
            LedgerAward,
            CaseDocument,
            CaseFile,
            ReportItem,
            DailyReport,
            OrganisationVersion,
            BackupRequest,
            IncidentEvent,
            Assignment,
            UnitPing,
            UnitStatusEvent,
            DutyRoster,
            Unit,
            PlanJob,
            PatrolPlanRecord,
        ):
            session.execute(delete(model))
        session.execute(delete(Incident))
        base = session.scalar(select(LayerVersion).where(LayerVersion.label == pack.label))
        if base is None:
            base = layerstore.import_pack(session, pack, actor="test", activate=True)
        elif not base.active:
            layerstore.activate_version(session, base.id, actor="test")
        for version in layerstore.list_versions(session):
            if version.id != base.id:
                session.delete(version)
        session.flush()
        session.commit()


@pytest.fixture
def client(app_client: TestClient, test_pack: layers.LayerPack) -> TestClient:
    """The app with no incidents and only the test pack, active; signed in as the
    dispatcher unless a request sends its own ``Authorization`` (see ``helpers.as_``).

    The audit log is append-only, so it is not emptied: ``app.state.audit_mark`` is its last
    id before the test (``helpers.audit_rows`` counts from there).
    """
    _reset(app_client, test_pack)
    app_client.cookies.clear()
    app_client.headers["Authorization"] = (
        "Bearer " + app_client.app.state.test_tokens["dispatch"]  # type: ignore[attr-defined]
    )
    factory = app_client.app.state.sessionmaker  # type: ignore[attr-defined]
    with factory() as session:
        mark = session.scalar(select(func.max(AuditLog.id)))
    app_client.app.state.audit_mark = mark or 0  # type: ignore[attr-defined]
    return app_client
