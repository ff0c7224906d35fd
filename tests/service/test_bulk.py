"""Bulk intake for the demo: one vectorised resolution, one transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select

from geo import crs as geocrs
from geo.errors import OutsideJurisdictionError
from service.core.errors import InvalidInputError
from service.incidents import service as crud
from service.incidents.models import Incident
from service.incidents.schemas import IncidentCreate

from .helpers import MEIYUAN, OUTSIDE, audit_rows, count_rows


def _items(n, seed=0, outside_at=None):
    rng = np.random.default_rng(seed)
    lon = rng.uniform(114.1005, 114.1295, n)
    lat = rng.uniform(22.5705, 22.5795, n)
    now = datetime.now(UTC)
    items = []
    for i in range(n):
        point = (float(lon[i]), float(lat[i]))
        crs = "wgs84"
        if i == outside_at:
            point = OUTSIDE
        elif i % 3 == 1:
            glon, glat = geocrs.wgs84_to_gcj02([point[0]], [point[1]])
            point, crs = (float(glon[0]), float(glat[0])), "gcj02"
        items.append(
            IncidentCreate(
                category=f"C{1 + i % 21:02d}",
                location={"lon": point[0], "lat": point[1], "crs": crs},
                occurred_at=now - timedelta(hours=int(rng.integers(1, 24 * 60))),
                source="patrol",
                reporter="demo",
            )
        )
    return items, lon, lat


def _bulk(client, items, actor="demo"):
    with client.app.state.sessionmaker() as session:
        layer = client.app.state.jurisdiction_cache.get(session)
        inserted = crud.create_incidents_bulk(
            session=session,
            items=items,
            actor=actor,
            jurisdiction=layer.jurisdiction,
            layer_version_id=layer.version_id,
        )
        session.commit()
    return inserted


def test_bulk_5000(client):
    # Speed is measured in bench/, not here.
    items, lon, lat = _items(5000)
    factory = client.app.state.sessionmaker
    cache = client.app.state.jurisdiction_cache
    with factory() as session:
        layer = cache.get(session)
        inserted = crud.create_incidents_bulk(
            session=session,
            items=items,
            actor="demo",
            jurisdiction=layer.jurisdiction,
            layer_version_id=layer.version_id,
        )
        session.commit()
    assert inserted == 5000
    assert count_rows(client, Incident) == 5000
    [audit] = audit_rows(client)  # one row for the whole batch
    with factory() as session:
        first_id, last_id = session.execute(
            select(func.min(Incident.id), func.max(Incident.id))
        ).one()
    assert audit.action == "bulk_create"
    assert audit.actor == "demo"
    assert audit.detail["count"] == 5000
    assert (audit.detail["first_id"], audit.detail["last_id"]) == (first_id, last_id)
    assert audit.entity_id == f"{first_id}..{last_id}"
    expected = layer.jurisdiction.resolve(lon, lat)["community_code"].astype(str)
    with factory() as session:
        stored = dict(
            session.execute(
                select(Incident.community_code, func.count()).group_by(Incident.community_code)
            ).all()
        )
        assert stored == expected.value_counts().to_dict()
        first = session.get(Incident, session.scalar(select(func.min(Incident.id))))
        assert first.lon == pytest.approx(lon[0])
    # The API reads bulk rows like any other, spatial index included.
    page = client.get("/incidents", params={"bbox": "114.10,22.57,114.11,22.58", "limit": 1})
    assert page.json()["total"] == int((expected == "440303010001").sum())


def test_bulk_outside_stores_nothing(client):
    items, _, _ = _items(50, outside_at=17)
    factory = client.app.state.sessionmaker
    with factory() as session:
        layer = client.app.state.jurisdiction_cache.get(session)
        with pytest.raises(OutsideJurisdictionError, match=r"items\[17\]\.location") as info:
            crud.create_incidents_bulk(
                session=session,
                items=items,
                actor="demo",
                jurisdiction=layer.jurisdiction,
                layer_version_id=layer.version_id,
            )
        session.rollback()
    assert "m outside" in str(info.value)
    assert "清水河" in str(info.value)
    assert count_rows(client, Incident) == 0


def test_bulk_refuses_future_times_like_single_create(client):
    items, _, _ = _items(5)
    items[3] = items[3].model_copy(update={"occurred_at": datetime.now(UTC) + timedelta(hours=8)})
    with pytest.raises(InvalidInputError, match="future") as info:
        _bulk(client, items)
    assert info.value.field == "items[3].occurred_at"
    assert "+08:00" in info.value.fix
    assert count_rows(client, Incident) == 0


def test_bulk_and_single_store_the_same_row(client):
    """One row builder: the same report stored both ways differs only where documented."""
    occurred = datetime.now(UTC) - timedelta(hours=2)
    reported = occurred + timedelta(minutes=30)
    item = IncidentCreate(
        category="C02",
        location={"lon": MEIYUAN[0], "lat": MEIYUAN[1]},
        occurred_at=occurred,
        reported_at=reported,
        source="patrol",
        reporter="squad:west",
        urgent=True,
        description="占道",
        photo_urls=["https://example.org/a.jpg"],
        address="梅园路",
    )
    # Bulk under the signed-in dispatcher's name, so that created_by matches too.
    assert (
        _bulk(client, [item, item.model_copy(update={"reported_at": None})], actor="t-dispatch")
        == 2
    )
    response = client.post("/incidents", json=item.model_dump(mode="json"))
    assert response.status_code == 201, response.text
    skip = {
        "id",
        "number",
        "received_at",
        "updated_at",
        "possible_duplicates",
        "possible_duplicates_total",
    }
    single = {k: v for k, v in response.json().items() if k not in skip}
    rows = client.get("/incidents", params={"limit": 3}).json()["items"]
    bulk, defaulted = sorted(
        (r for r in rows if r["number"] != response.json()["number"]), key=lambda r: r["number"]
    )
    assert {k: v for k, v in bulk.items() if k not in skip} == single
    # Documented difference: without reported_at, bulk (imported history) uses occurred_at.
    assert defaulted["reported_at"] == defaulted["occurred_at"]


def test_bulk_empty(client):
    with client.app.state.sessionmaker() as session:
        layer = client.app.state.jurisdiction_cache.get(session)
        assert (
            crud.create_incidents_bulk(
                session=session,
                items=[],
                actor="demo",
                jurisdiction=layer.jurisdiction,
                layer_version_id=layer.version_id,
            )
            == 0
        )
