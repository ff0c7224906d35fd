"""Campaign targets: the planted hot spots come out as targets, with categories, trend, community,
squad and landmarks; the printable table."""

import math

import numpy as np
import pytest

from geo import crs
from geo.campaign import CampaignParams, campaign_targets, targets_table
from geo.cells import grid_cells
from geo.getisord import GiParams, compare_periods, getis_ord
from geo.jurisdiction import Jurisdiction
from geo.synthetic import PlantParams, plant_incidents
from layers import read_pack


@pytest.fixture(scope="module")
def pack():
    return read_pack()


@pytest.fixture(scope="module")
def jurisdiction(pack):
    return Jurisdiction.build(pack.communities, pack.key_roads)


@pytest.fixture(scope="module")
def periods(pack):
    """This period with 8 planted spots; the previous one with 4 of them, a little weaker."""
    now = plant_incidents(
        pack.communities, roads=pack.key_roads, params=PlantParams(n=8000, seed=11)
    )
    kept = list(now.planted_cells[:4])
    before = plant_incidents(
        pack.communities,
        roads=pack.key_roads,
        cells=kept,
        params=PlantParams(n=8000, seed=12, hot_share=0.1),
    )
    gi_now = getis_ord(grid_cells(now.incidents, pack.communities), params=GiParams(seed=1))
    gi_before = getis_ord(grid_cells(before.incidents, pack.communities), params=GiParams(seed=2))
    return now, kept, compare_periods(gi_now, gi_before)


def test_planted_spots_become_targets_with_their_category(pack, jurisdiction, periods):
    truth, _, hot = periods
    targets = campaign_targets(
        hot, jurisdiction=jurisdiction, key_roads=pack.key_roads, places=pack.places
    )
    assert [t.rank for t in targets] == list(range(1, len(targets) + 1))
    by_cell = {t.cell_id: t for t in targets}
    planted = truth.spots.set_index("cell_id")
    found = [c for c in planted.index if c in by_cell]
    # A planted spot's own cell is the busiest of its cluster, so it is the target picked.
    assert len(found) >= 7
    for cell in found:
        target = by_cell[cell]
        assert target.categories[0][0] == planted.loc[cell, "category"]
        row = hot.set_index("cell_id").loc[cell]
        assert target.count == row["count"]
        assert [n for _, n in target.categories] == sorted(
            (n for _, n in target.categories), reverse=True
        )
        assert all(row[f"count_{code}"] == n for code, n in target.categories)
    # Busiest first.
    counts = [t.count for t in targets]
    assert counts == sorted(counts, reverse=True)


def test_targets_are_apart_and_hot_enough(pack, jurisdiction, periods):
    _, _, hot = periods
    params = CampaignParams(top=20, min_bin=2, min_separation_m=400.0)
    targets = campaign_targets(hot, jurisdiction=jurisdiction, params=params)
    assert targets
    assert all(t.gi_bin >= 2 for t in targets)
    x, y = crs.to_metric([t.lon for t in targets], [t.lat for t in targets])
    for i in range(len(targets)):
        for j in range(i):
            assert math.hypot(x[i] - x[j], y[i] - y[j]) >= 400.0
    adjacent = campaign_targets(
        hot, jurisdiction=jurisdiction, params=CampaignParams(top=50, min_separation_m=0.0)
    )
    assert len(adjacent) > len(
        campaign_targets(hot, jurisdiction=jurisdiction, params=CampaignParams(top=50))
    )


def test_targets_know_their_trend_community_squad_and_landmarks(pack, jurisdiction, periods):
    truth, kept, hot = periods
    targets = campaign_targets(
        hot,
        jurisdiction=jurisdiction,
        key_roads=pack.key_roads,
        places=pack.places,
        params=CampaignParams(landmark_m=5000.0),
    )
    by_cell = {t.cell_id: t for t in targets}
    labels = hot.set_index("cell_id")["trend"]
    for cell in truth.planted_cells:
        if cell in by_cell:
            target = by_cell[cell]
            assert target.trend == labels[cell]
            assert target.trend in (
                ("intensifying", "persistent", "diminishing") if cell in kept else ("new",)
            )
            assert target.previous_count is not None
            assert target.change == pytest.approx(target.count - target.previous_count)
    for target in targets:
        resolved = jurisdiction.resolve_one(target.lon, target.lat)
        assert target.community_code == resolved["community_code"]
        assert target.community_name == resolved["community_name"]
        assert target.squad == resolved["community_squad"]
        west, south, east, north = target.bounds
        assert west <= target.lon <= east
        assert south <= target.lat <= north
        # The named place is the nearest one (brute force over the layer).
        px, py = crs.to_metric(pack.places.geometry.x.to_numpy(), pack.places.geometry.y.to_numpy())
        tx, ty = crs.to_metric(target.lon, target.lat)
        distance = np.hypot(px - tx, py - ty)
        assert target.place == pack.places["name_zh"].iloc[int(np.argmin(distance))]
        assert target.place_m == pytest.approx(distance.min(), abs=0.01)
        assert target.key_road in set(pack.key_roads["name_zh"])
        assert target.place in target.where
    near = campaign_targets(
        hot,
        jurisdiction=jurisdiction,
        key_roads=pack.key_roads,
        places=pack.places,
        params=CampaignParams(landmark_m=1.0),
    )
    assert all(t.place == "" and t.place_m is None for t in near)
    assert all(t.where == (t.community_name or t.cell_id) for t in near)


def test_table_prints_one_row_per_target(pack, jurisdiction, periods):
    _, _, hot = periods
    targets = campaign_targets(
        hot, jurisdiction=jurisdiction, places=pack.places, params=CampaignParams(top=5)
    )
    table = targets_table(
        targets,
        categories={"C02": "占道施工与摆摊设点"},
        squads={"west": "巡查一中队", "east": "巡查二中队"},
    )
    assert len(table) == len(targets) == 5
    assert table["序号 rank"].tolist() == [1, 2, 3, 4, 5]
    assert table["事件数 incidents"].tolist() == [t.count for t in targets]
    assert set(table["中队 squad"]) <= {"巡查一中队", "巡查二中队"}
    stalls = [i for i, t in enumerate(targets) if t.categories[0][0] == "C02"]
    for i in stalls:
        assert table["主要类别 top categories"].iloc[i].startswith("占道施工与摆摊设点")
    assert all("→" in text for text in table["变化 change"])
    assert targets_table([]).columns.tolist() == table.columns.tolist()


def test_no_hot_cell_no_target(jurisdiction, periods):
    _, _, hot = periods
    cold = hot.assign(gi_bin=np.minimum(hot["gi_bin"], 0))
    assert campaign_targets(cold, jurisdiction=jurisdiction) == []
    with pytest.raises(ValueError, match="getis_ord"):
        campaign_targets(hot.drop(columns="gi_z"), jurisdiction=jurisdiction)
    with pytest.raises(ValueError, match="min_bin"):
        CampaignParams(min_bin=0)
    with pytest.raises(ValueError, match="top"):
        CampaignParams(top=0)
