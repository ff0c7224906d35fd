"""Helpers for service tests: request bodies and row counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from geo import crs as geocrs
from service.core.timezones import BEIJING

# Points in the test pack (tests/data/pack): three 0.01-degree squares side by side.
NIGANG = (114.105, 22.574)  # 泥岗 (alias 坭岗), west squad, away from boundaries and the road
MEIYUAN = (114.115, 22.574)  # 梅园, west squad
QINGSHUIHE = (114.125, 22.574)  # 清水河, east squad
ON_ROAD = (114.115, 22.5781)  # 梅园, ~11 m from key road R1 (east squad)
OUTSIDE = (114.20, 22.575)  # ~7 km east of 清水河


def hours_ago(hours: float) -> str:
    """An ISO 8601 time with zone, ``hours`` before now (Beijing time)."""
    return (datetime.now(UTC).astimezone(BEIJING) - timedelta(hours=hours)).isoformat()


def body(
    point: tuple[float, float] = MEIYUAN, *, crs: str = "wgs84", **fields: Any
) -> dict[str, Any]:
    """A valid POST /incidents body, with fields overridden."""
    data: dict[str, Any] = {
        "category": "C02",
        "location": {"lon": point[0], "lat": point[1], "crs": crs},
        "occurred_at": hours_ago(1),
        "source": "daily_inspection",
        "reporter": "info-group:440303010002",
        "urgent": False,
        "description": "流动摊贩占道经营",
        "photo_urls": ["https://example.org/photo/1.jpg"],
    }
    data.update(fields)
    return data


def offset_m(
    point: tuple[float, float], east_m: float, north_m: float = 0.0
) -> tuple[float, float]:
    """The point ``east_m`` metres east and ``north_m`` north of ``point`` (in EPSG:4547)."""
    x, y = geocrs.to_metric([point[0]], [point[1]])
    lon, lat = geocrs.from_metric(x + east_m, y + north_m)
    return float(lon[0]), float(lat[0])


def as_(client: Any, key: str) -> dict[str, str]:
    """Headers that sign a request in as the test user ``t-<key>`` (see ``TEST_USERS``)."""
    return {"Authorization": f"Bearer {client.app.state.test_tokens[key]}"}


def anonymous(client: Any) -> Any:
    """A client of the same app with no credentials at all."""
    from fastapi.testclient import TestClient

    return TestClient(client.app)


def device(client: Any, unit_id: str) -> dict[str, str]:
    """Headers of the unit's device (a fresh device token, issued by the test admin)."""
    answer = client.post(f"/units/{unit_id}/device-token", headers=as_(client, "admin"))
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def audit_rows(client: Any, **where: Any) -> list[Any]:
    """Audit rows written since the test began (the log is append-only), oldest first."""
    from service.core.audit import AuditLog

    factory = client.app.state.sessionmaker
    with factory() as session:
        query = select(AuditLog).where(AuditLog.id > client.app.state.audit_mark)
        for name, value in where.items():
            query = query.where(getattr(AuditLog, name) == value)
        rows = list(session.scalars(query.order_by(AuditLog.id)))
        session.expunge_all()
        return rows


def api_routes(app: Any) -> list[tuple[str, Any]]:
    """(full path, APIRoute) of every route of the app, through included routers.

    FastAPI 0.16x includes routers lazily: ``app.routes`` holds one ``_IncludedRouter`` whose
    effective routes carry the full paths; older versions list the routes themselves.
    """
    from fastapi.routing import APIRoute

    found = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            found.append((route.path, route))
        elif hasattr(route, "effective_route_contexts"):
            for context in route.effective_route_contexts():
                if isinstance(context.original_route, APIRoute):
                    found.append((context.path, context.original_route))
    return found


def _rules(dependant: Any) -> list[str]:
    from service.auth.service import rule_of

    found = []
    for sub in dependant.dependencies:
        rule = rule_of(sub.call) if sub.call is not None else None
        if rule is not None:
            found.append(rule)
        found.extend(_rules(sub))
    return found


def route_rules(app: Any) -> list[tuple[str, str, str]]:
    """(method, path, rule) of every route and method; the rule is '' when none is declared."""
    table = []
    for path, route in api_routes(app):
        rules = _rules(route.dependant)
        for method in sorted(route.methods - {"HEAD"}):
            table.append((method, path, ",".join(sorted(set(rules)))))
    return table


def count_rows(client: Any, model: type) -> int:
    """Rows in a table, read through the app's own database."""
    factory = client.app.state.sessionmaker
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def activate_bundled_pack(client: Any) -> Any:
    """Import (once) and activate the bundled Qingshuihe pack, which has a road network."""
    import layers
    from service.layers import service as layerstore
    from service.layers.models import LayerVersion

    pack = layers.read_pack()
    factory = client.app.state.sessionmaker
    with factory() as session:
        if session.scalar(select(LayerVersion.id).where(LayerVersion.label == pack.label)) is None:
            layerstore.import_pack(session, pack, actor="test")
        layerstore.activate_version(session, pack.label, actor="test")
        session.commit()
    return pack


def stalls_by_the_metro(client: Any, *, day: date) -> Any:
    """The bundled pack active, with the week before ``day`` of evening stalls (19:00-19:40,
    three a day, C02) by 泥岗 metro, filed by the west squad's patrols."""
    lon, lat = metro_point(activate_bundled_pack(client))
    for days_before in range(1, 8):
        for minute in (0, 20, 40):
            occurred = datetime.combine(
                day - timedelta(days=days_before), datetime.min.time(), tzinfo=BEIJING
            ) + timedelta(hours=19, minutes=minute)
            response = client.post(
                "/incidents",
                json={
                    "category": "C02",
                    "location": {"lon": lon, "lat": lat},
                    "occurred_at": occurred.isoformat(),
                    "reported_at": occurred.isoformat(),
                    "source": "patrol",
                    "reporter": "squad:west",
                    "description": "流动摊贩",
                },
            )
            assert response.status_code == 201, response.text
    return client


def metro_point(pack: Any) -> tuple[float, float]:
    """The first metro station of a pack's places (泥岗 in the bundled pack)."""
    metro = pack.places[pack.places["kind"] == "metro"].geometry.iloc[0]
    return float(metro.x), float(metro.y)


@contextmanager
def limits_of(client: Any, limits: Any) -> Iterator[None]:
    """The app's intake rate limits replaced for a block (Starlette's State is not one that
    pytest's monkeypatch restores: it deletes the attribute instead)."""
    before = client.app.state.rate_limits
    client.app.state.rate_limits = limits
    try:
        yield
    finally:
        client.app.state.rate_limits = before
