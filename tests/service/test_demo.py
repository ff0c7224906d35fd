"""Seeded demo incidents on a pack of hand-made squares."""

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
import shapely

from geo import crs as geocrs
from layers.pack import LayerPack, read_pack
from service.incidents.demo import DEMO_COLUMNS, generate_demo_incidents

START = dt.date(2026, 11, 2)  # a Monday


@pytest.fixture(scope="module")
def pack(squares_pack: LayerPack) -> LayerPack:
    return squares_pack


@pytest.fixture(scope="module")
def demo(pack: LayerPack) -> pd.DataFrame:
    return generate_demo_incidents(pack, start=START, days=28, seed=7)


def test_columns_and_types(demo: pd.DataFrame):
    assert tuple(demo.columns) == DEMO_COLUMNS
    assert 28 * 60 * 0.85 < len(demo) < 28 * 60 * 1.15
    for column in ("occurred_at", "reported_at"):
        assert str(demo[column].dt.tz) == "Asia/Shanghai"
        assert demo[column].iloc[0].utcoffset() == dt.timedelta(hours=8)
    assert demo["urgent"].dtype == bool
    assert set(demo["source"]) == {"daily_inspection", "complaint", "special_inspection", "patrol"}
    assert all(isinstance(p, list) for p in demo["photo_urls"])
    assert demo["occurred_at"].is_monotonic_increasing
    assert demo["occurred_at"].min().date() >= START
    assert demo["occurred_at"].max().date() < START + dt.timedelta(days=28)


def test_same_seed_same_frame(pack: LayerPack, demo: pd.DataFrame):
    again = generate_demo_incidents(pack, start=START, days=28, seed=7)
    pd.testing.assert_frame_equal(demo, again)
    other = generate_demo_incidents(pack, start=START, days=28, seed=8)
    assert len(other) != len(demo) or not np.allclose(other["lon"], demo["lon"])


def test_every_point_inside_a_community(pack: LayerPack, demo: pd.DataFrame):
    area = shapely.union_all(pack.communities.geometry.values)
    assert shapely.covers(area, shapely.points(demo["lon"], demo["lat"])).all()


def test_category_mix_follows_the_plan(demo: pd.DataFrame):
    counts = demo["category"].value_counts()
    assert list(counts.index[:2]) == ["C01", "C02"] or list(counts.index[:2]) == ["C02", "C01"]
    assert counts.get("C03", 0) > counts.get("C07", 0) + counts.get("C16", 0)
    rare = sum(counts.get(c, 0) for c in ("C07", "C10", "C16", "C20"))
    assert rare < 0.02 * len(demo)


def test_time_of_day_profiles(demo: pd.DataFrame):
    hour = demo["occurred_at"].dt.hour
    stalls = hour[demo["category"] == "C02"]
    assert ((stalls >= 17) & (stalls < 23)).mean() > 0.6
    noise = hour[demo["category"] == "C03"]
    assert ((noise >= 21) | (noise < 2)).mean() > 0.5
    food = hour[demo["category"] == "C06"]
    assert ((food >= 6) & (food < 10)).mean() > 0.3
    works = hour[demo["category"].isin(["C08", "C13"])]
    assert ((works >= 7) & (works < 22)).mean() > 0.9


def test_less_construction_at_weekends(demo: pd.DataFrame):
    works = demo[demo["category"].isin(["C08", "C13"])]
    weekend = works["occurred_at"].dt.day_of_week >= 5
    # 28 days: 8 weekend days and 20 weekdays.
    assert weekend.sum() / 8 < (~weekend).sum() / 20


def test_stalls_cluster_near_their_places(pack: LayerPack, demo: pd.DataFrame):
    stalls = demo[demo["category"] == "C02"]
    assert pack.places is not None
    x, y = geocrs.to_metric(stalls["lon"], stalls["lat"])
    kinds = pack.places[
        pack.places["kind"].isin(
            ["metro", "market", "urban_village", "school", "commercial_street"]
        )
    ]
    targets = shapely.union_all(
        [
            *kinds.to_crs(geocrs.METRIC_CRS).geometry,
            *pack.key_roads.to_crs(geocrs.METRIC_CRS).geometry,
        ]
    )
    near = shapely.distance(shapely.points(x, y), targets) < 150
    assert near.mean() > 0.8


def test_reporting_rules(demo: pd.DataFrame):
    delay = demo["reported_at"] - demo["occurred_at"]
    assert (delay >= pd.Timedelta(0)).all()
    urgent = demo[demo["urgent"]]
    assert len(urgent) > 0
    assert (urgent["reported_at"] - urgent["occurred_at"] <= pd.Timedelta(minutes=15)).all()
    assert set(demo.loc[demo["category"].isin(["C14", "C19"]), "urgent"]) <= {True}

    daily = demo[(demo["source"] == "daily_inspection") & ~demo["urgent"]]
    next_day = daily["occurred_at"].dt.normalize() + pd.Timedelta(days=1)
    assert (daily["reported_at"] >= next_day).all()
    assert (daily["reported_at"] <= next_day + pd.Timedelta(hours=9, minutes=30)).all()

    complaints = demo[(demo["source"] == "complaint") & ~demo["urgent"]]
    assert (complaints["reported_at"] - complaints["occurred_at"] <= pd.Timedelta(hours=8)).all()
    patrol_hours = demo.loc[demo["source"] == "patrol", "occurred_at"].dt.hour
    assert ((patrol_hours >= 7) & (patrol_hours < 23)).all()  # the squads' two shifts


def test_only_incidents_reported_within_the_window(pack: LayerPack, demo: pd.DataFrame):
    end = pd.Timestamp(START + dt.timedelta(days=28)).tz_localize("Asia/Shanghai")
    assert (demo["reported_at"] < end).all()
    # So a window ending today is all past: bulk intake refuses reports from the future.
    now = pd.Timestamp.now(tz="Asia/Shanghai")
    today = now.date()
    recent = generate_demo_incidents(pack, start=today - dt.timedelta(days=2), days=2, seed=1)
    assert len(recent) > 0
    assert (recent["reported_at"] <= now).all()
    assert (recent["occurred_at"] <= now).all()


def test_reporters_are_roles(demo: pd.DataFrame):
    by_source = demo.groupby("source")["reporter"].agg(set)
    assert by_source["daily_inspection"] <= {"info-group:440303010002", "info-group:440303010001"}
    assert by_source["complaint"] == {"resident", "hotline-12345"}
    assert by_source["patrol"] <= {"squad:west", "squad:east"}
    text = " ".join(demo["description"]) + " ".join(demo["reporter"])
    assert not re.search(r"\d{7,}", text.replace("440303010002", "").replace("440303010001", ""))
    assert demo["description"].str.len().gt(4).all()


def test_without_places_falls_back_to_centres_and_roads(squares_pack_without_places: LayerPack):
    pack = squares_pack_without_places
    demo = generate_demo_incidents(pack, start=START, days=3, seed=1, daily_mean=40)
    area = shapely.union_all(pack.communities.geometry.values)
    assert len(demo) > 60
    assert shapely.covers(area, shapely.points(demo["lon"], demo["lat"])).all()


def test_zero_days_gives_an_empty_frame(pack: LayerPack):
    empty = generate_demo_incidents(pack, start=START, days=0)
    assert len(empty) == 0
    assert tuple(empty.columns) == DEMO_COLUMNS


def test_rejects_bad_arguments(pack: LayerPack):
    with pytest.raises(ValueError, match="daily_mean"):
        generate_demo_incidents(pack, start=START, days=-1)


def test_bundled_qingshuihe_pack():
    try:
        pack = read_pack()
    except FileNotFoundError:
        pytest.skip("the bundled layers/qingshuihe pack is not in this tree yet")
    demo = generate_demo_incidents(pack, start=START, days=7, seed=0)
    area = shapely.union_all(pack.communities.geometry.values)
    assert shapely.covers(area, shapely.points(demo["lon"], demo["lat"])).all()
    places = set(pack.places["name_zh"]) if pack.places is not None else set()
    # Most descriptions name the place, road or community they happen at.
    named = [any(p in text for p in places) for text in demo["description"]]
    assert np.mean(named) > 0.5
