"""Bulk intake for the demo: one vectorised resolution, one transaction."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select

from geo import crs as geocrs
from service import crud
from service.crud.errors import InvalidInputError
from service.models import AuditLog, Incident
from service.schemas import IncidentCreate

from .helpers import OUTSIDE, count_rows


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
        items.append(IncidentCreate(
            category=f"C{1 + i % 21:02d}", location={"lon": point[0], "lat": point[1],
                                                     "crs": crs},
            occurred_at=now - timedelta(hours=int(rng.integers(1, 24 * 60))),
            source="patrol", reporter="demo"))
    return items, lon, lat


def test_bulk_5000_in_seconds(client):
    items, lon, lat = _items(5000)
    factory = client.app.state.sessionmaker
    cache = client.app.state.jurisdiction_cache
    with factory() as session:
        layer = cache.get(session)
        started = time.perf_counter()
        inserted = crud.create_incidents_bulk(session=session, items=items, actor="demo",
                                              jurisdiction=layer.jurisdiction,
                                              layer_version_id=layer.version_id)
        session.commit()
        elapsed = time.perf_counter() - started
    assert inserted == 5000
    assert elapsed < 10.0, f"bulk insert took {elapsed:.1f} s"
    assert count_rows(client, Incident) == 5000
    assert count_rows(client, AuditLog) == 1
    expected = layer.jurisdiction.resolve(lon, lat)["community_code"].astype(str)
    with factory() as session:
        stored = dict(session.execute(select(Incident.community_code, func.count())
                                      .group_by(Incident.community_code)).all())
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
        with pytest.raises(InvalidInputError, match=r"items\[17\]|first") as info:
            crud.create_incidents_bulk(session=session, items=items, actor="demo",
                                       jurisdiction=layer.jurisdiction,
                                       layer_version_id=layer.version_id)
        assert info.value.field == "items[17].location"
        session.rollback()
    assert count_rows(client, Incident) == 0


def test_bulk_empty(client):
    with client.app.state.sessionmaker() as session:
        layer = client.app.state.jurisdiction_cache.get(session)
        assert crud.create_incidents_bulk(session=session, items=[], actor="demo",
                                          jurisdiction=layer.jurisdiction,
                                          layer_version_id=layer.version_id) == 0
