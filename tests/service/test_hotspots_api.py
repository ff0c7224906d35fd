"""Hot spots through the API on both databases: planted hot spots are found in stored incidents,
filters narrow what is counted, targets print, the map page carries its filters, plans use them.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import layers
from geo import crs
from geo.synthetic import PlantedIncidents, PlantParams, plant_incidents
from service.incidents import service as crud
from service.incidents.schemas import IncidentCreate

from .helpers import activate_bundled_pack, anonymous, as_

START = date(2026, 10, 19)
DAYS = 28
END = START + timedelta(days=DAYS - 1)
PERIOD = {"start": START.isoformat(), "end": END.isoformat()}


@pytest.fixture
def planted(client: TestClient) -> tuple[TestClient, PlantedIncidents]:
    """Four weeks of incidents over the bundled sub-district with 4 planted hot spots, and the
    four weeks before them with background only (so the planted ones are new)."""
    pack = activate_bundled_pack(client)
    now = plant_incidents(
        pack.communities,
        roads=pack.key_roads,
        params=PlantParams(n=2500, spots=4, start=START, days=DAYS, seed=11),
    )
    before = plant_incidents(
        pack.communities,
        roads=pack.key_roads,
        params=PlantParams(n=1900, spots=0, start=START - timedelta(days=DAYS), days=DAYS, seed=12),
    )
    with client.app.state.sessionmaker() as session:
        jurisdiction = client.app.state.jurisdiction_cache.get(session).jurisdiction
    # The generator samples the union of the communities; the few points it puts in the
    # slivers between the bundled (approximate) polygons would be refused as outside.
    now, before = (
        replace(
            sample,
            incidents=sample.incidents[
                jurisdiction.assign(sample.incidents["lon"], sample.incidents["lat"]) >= 0
            ].reset_index(drop=True),
        )
        for sample in (now, before)
    )
    frame = pd.concat([now.incidents, before.incidents], ignore_index=True)
    items = [
        IncidentCreate(
            category=r.category,
            location={"lon": r.lon, "lat": r.lat},
            occurred_at=r.occurred_at.to_pydatetime(),
            source=r.source,
            urgent=bool(r.urgent),
            reporter="test",
        )
        for r in frame.itertuples(index=False)
    ]
    with client.app.state.sessionmaker() as session:
        layer = client.app.state.jurisdiction_cache.get(session)
        crud.create_incidents_bulk(
            session=session,
            items=items,
            actor="test",
            jurisdiction=layer.jurisdiction,
            layer_version_id=layer.version_id,
        )
        session.commit()
    return client, now


def _cells(client: TestClient, **params: object) -> dict:
    response = client.get("/hotspots", params={**PERIOD, "permutations": 999, **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    return response.json()


def test_planted_hot_spots_are_found_in_stored_incidents(planted):
    client, truth = planted
    collection = _cells(client)
    props = pd.DataFrame([f["properties"] for f in collection["features"]]).set_index("cell_id")
    assert collection["incidents"] == len(truth.incidents)
    assert int(props["count"].sum()) == len(truth.incidents)
    hot = set(props.index[props["gi_bin"] > 0])
    recall = len(hot & set(truth.planted_cells)) / len(truth.planted_cells)
    assert recall >= 0.9
    # The earlier four weeks had no planted spot: the planted cells are new hot spots.
    trends = props.loc[sorted(set(truth.planted_cells) & hot), "trend"]
    assert (trends == "new").mean() >= 0.75
    assert set(props["bin_label"]) >= {"不显著 not significant"}
    assert collection["query"]["permutations"] == 999


def test_filters_narrow_the_count(planted):
    client, truth = planted
    incidents = truth.incidents
    category = incidents["category"].mode().iloc[0]
    assert _cells(client, category=category)["incidents"] == int(
        (incidents["category"] == category).sum()
    )
    hours = incidents["occurred_at"].dt.hour
    assert _cells(client, shift="early")["incidents"] == int(((hours >= 7) & (hours < 15)).sum())
    weekdays = incidents["occurred_at"].dt.day_of_week
    assert _cells(client, weekday=[5, 6])["incidents"] == int((weekdays >= 5).sum())
    west = _cells(client, squad="west")
    whole = _cells(client)
    assert 0 < len(west["features"]) < len(whole["features"])
    community = _cells(client, cells="community")
    assert {f["properties"]["cell_id"] for f in community["features"]} == set(
        layers.read_pack().communities["code"].astype(str)
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "C99"}, "category"),
        ({"start": "2026-11-20", "end": "2026-11-01"}, "end"),
        ({"squad": "north"}, "squad"),
        ({"community": "Atlantis"}, "community"),
        ({"cells": "hexagon"}, "cells"),
        ({"cell_m": 5}, "cell_m"),
    ],
)
def test_bad_parameters_name_the_field(client, params, field):
    activate_bundled_pack(client)
    response = client.get("/hotspots", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field
    assert response.json()["detail"][0]["fix"]


def test_campaign_targets_as_json_csv_and_a_printable_page(planted):
    client, truth = planted
    targets = client.get("/hotspots/targets", params={**PERIOD, "permutations": 999}).json()
    assert 1 <= len(targets) <= 10
    first = targets[0]
    assert first["rank"] == 1
    assert first["gi_bin"] >= 1
    assert first["squad"] in ("west", "east")
    assert first["community_name"]
    assert first["categories"]
    assert first["where"]
    csv = client.get("/hotspots/targets", params={**PERIOD, "format": "csv", "permutations": 999})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("\ufeff")
    table = pd.read_csv(io.StringIO(csv.text.lstrip("\ufeff")))
    assert len(table) == len(targets)
    page = client.get("/hotspots/targets", params={**PERIOD, "format": "html", "permutations": 999})
    assert "<table" in page.text
    assert "整治目标" in page.text
    # The top target lies on a planted spot (its cell or a neighbour of it).
    x, y = crs.to_metric(truth.spots["lon"].to_numpy(), truth.spots["lat"].to_numpy())
    tx, ty = crs.to_metric([first["lon"]], [first["lat"]])
    assert np.min(np.hypot(x - tx[0], y - ty[0])) <= 2 * 150 * np.sqrt(2)


def test_map_page_carries_filters_links_and_a_standalone_download(planted):
    client, _ = planted
    page = client.get("/maps/hotspots", params={**PERIOD, "squad": "west", "shift": "late"})
    assert page.status_code == 200
    html = page.text
    for marker in (
        "jiedao-legend",
        "jiedao-targets",
        "jiedao-filters",
        "name='shift'",
        "value='late' selected",
        "/maps/hotspots.png?",
        "format=html",
    ):
        assert marker in html, marker
    assert "http://cdn" not in html
    assert "https://cdn" not in html
    # Links to the downloads keep the whole query, several categories included.
    several = client.get(
        "/maps/hotspots",
        params={**PERIOD, "category": ["C01", "C02"], "weekday": [5, 6], "permutations": 999},
    )
    csv_link = next(line for line in several.text.split("<a ") if "format=csv" in line)
    for part in ("category=C01", "category=C02", "weekday=5", "weekday=6", "permutations=999"):
        assert part in csv_link, part
    download = client.get("/maps/hotspots", params={**PERIOD, "download": "true"})
    assert "attachment" in download.headers["content-disposition"]
    assert "jiedao-filters" not in download.text
    assert "jiedao-legend" in download.text


def test_plans_take_their_hot_spots_from_gi_star(planted):
    client, truth = planted
    response = client.post(
        "/plans",
        json={
            "squad": "west",
            "date": (END + timedelta(days=1)).isoformat(),
            "shift": "early",
            "time_limit_s": 2,
            "hotspot_days": DAYS,
        },
        headers=as_(client, "squad-west"),  # plans are the squad leader's
    )
    assert response.status_code == 201, response.text
    plan = response.json()
    assert plan["created_by"] == "t-squad-west"
    assert plan["hotspot_source"] == "gi*"
    spots = {h["spot_id"] for h in plan["hotspots"]}
    assert spots
    assert all(s.startswith("g150m-") for s in spots)
    # The planted cells of the west squad lead its hot spots.
    cells = _cells(client, squad="west", shift="early")
    west_cells = {f["properties"]["cell_id"] for f in cells["features"]}
    planted_west = set(truth.planted_cells) & west_cells
    if planted_west:
        assert planted_west & spots


def test_squad_by_name_and_the_title_states_the_period_once(planted):
    client, _ = planted
    by_code = _cells(client, squad="west")
    by_name = _cells(client, squad="巡查一中队")
    assert by_name["incidents"] == by_code["incidents"]
    page = client.get("/maps/hotspots", params={**PERIOD, "permutations": 999}).text
    assert f"{START.isoformat()} – {END.isoformat()}" in page
    assert (END + timedelta(days=1)).isoformat() not in page  # no exclusive end shown


@pytest.mark.parametrize(
    ("key", "status"),
    [("leader", 200), ("squad-west", 200), ("case", 200), ("info", 403), ("backup", 403)],
)
def test_hot_spots_are_for_the_roles_that_plan_and_lead(client, key, status):
    activate_bundled_pack(client)
    headers = as_(client, key)
    for path, extra in (
        ("/hotspots", {}),
        ("/hotspots/targets", {}),
        ("/maps/hotspots", {}),
        ("/hotspots/targets", {"format": "csv"}),
    ):
        response = client.get(path, params={**PERIOD, "permutations": 99, **extra}, headers=headers)
        assert response.status_code == status, (path, response.text)
    assert anonymous(client).get("/hotspots", params=PERIOD).status_code == 401


def test_printable_targets_escape_the_filter_text(client):
    activate_bundled_pack(client)
    hostile = "<script>alert(1)</script>&co"
    page = client.get(
        "/hotspots/targets",
        params={**PERIOD, "format": "html", "permutations": 99, "source": hostile},
    )
    assert page.status_code == 200, page.text
    assert "<script" not in page.text
    assert "来源 sources &lt;script&gt;alert(1)&lt;/script&gt;&amp;co" in page.text
    assert "整治目标" in page.text
    # The map link's query string is escaped in its attribute too.
    assert 'href="/maps/hotspots?start=' in page.text
    assert "&amp;source=%3Cscript%3E" in page.text
