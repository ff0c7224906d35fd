"""--repair: small overlaps, gaps and invalid rings of hand-drawn communities, each listed."""

from __future__ import annotations

import shapely
from typer.testing import CliRunner

from geo.crs import METRIC_CRS
from layers import validate_pack
from layers.pack import read_pack
from layers.repair import repair_pack
from service.cli import app

from .conftest import square_frames, to_wgs, write_pack

# 泥岗 (x 0-1000 m) misses a 5 m² notch of its east edge and pokes an 8 m² tab into 清水河
# (x 1000-2000 m) further north: what two people tracing one boundary leave behind.
NIGANG = shapely.Polygon(
    [
        (0, 0),
        (1000, 0),
        (1000, 400),
        (999, 400),
        (999, 405),
        (1000, 405),
        (1000, 700),
        (1002, 700),
        (1002, 704),
        (1000, 704),
        (1000, 1000),
        (0, 1000),
    ]
)
QINGSHUIHE = shapely.box(1000, 0, 2000, 1000)


def _pack(tmp_path, nigang=NIGANG, qingshuihe=QINGSHUIHE):
    communities, roads, stations = square_frames()
    communities["geometry"] = [to_wgs(nigang), to_wgs(qingshuihe)]
    return read_pack(write_pack(tmp_path / "pack", communities, roads, stations))


def _metric(pack):
    return list(pack.communities.to_crs(METRIC_CRS).geometry.values)


def test_small_overlap_and_gap_are_repaired_and_listed(tmp_path):
    pack = _pack(tmp_path)
    before = [str(issue) for issue in validate_pack(pack)]
    assert any("overlap by 8.0 m²" in text for text in before)
    assert any("5.0 m² inside the jurisdiction belongs to no community" in text for text in before)

    repaired, repairs = repair_pack(pack, tolerance_m2=10.0)
    said = [str(r) for r in repairs]
    assert len(said) == 2
    # The tab borders 清水河 on three sides and 泥岗 on one: it is cut from 泥岗.
    assert said[0] == (
        "communities[440303010002/440303010001]: overlap of 8.0 m² left to 440303010001 "
        "(the longer shared edge), cut from 440303010002."
    )
    # The notch borders 泥岗 on three sides and 清水河 on one: it goes back to 泥岗.
    assert said[1].startswith("communities[440303010002]: gap of 5.0 m² at 114.")
    assert "joined to it (the longest shared edge, 7.0 m)" in said[1]
    assert validate_pack(repaired) == []
    nigang, qingshuihe = _metric(repaired)
    assert abs(nigang.area - 1_000_000) < 0.1  # the notch back, the tab gone
    assert abs(qingshuihe.area - 1_000_000) < 0.1
    assert shapely.area(shapely.intersection(nigang, qingshuihe)) < 1e-3


def test_faults_over_the_tolerance_stay_errors(tmp_path):
    pack = _pack(tmp_path)
    repaired, repairs = repair_pack(pack, tolerance_m2=4.0)
    assert repairs == []
    assert repaired is pack
    assert any("overlap by 8.0 m²" in str(issue) for issue in validate_pack(repaired))


def test_a_ring_that_crosses_itself_is_made_valid(tmp_path):
    bow_tie = shapely.Polygon([(1000, 0), (2000, 1000), (2000, 0), (1000, 1000)])
    pack = _pack(tmp_path, nigang=shapely.box(0, 0, 1000, 1000), qingshuihe=bow_tie)
    assert any("is invalid (Self-intersection" in str(i) for i in validate_pack(pack))
    repaired, repairs = repair_pack(pack, tolerance_m2=0.0)
    [said] = [str(r) for r in repairs]
    assert said.startswith("communities[440303010001]: made valid (was: Self-intersection[114.")
    [fixed] = _metric(repaired)[1:]
    assert fixed.is_valid
    assert fixed.geom_type == "MultiPolygon"
    assert abs(fixed.area - 500_000) < 1


def test_the_cli_repairs_before_validating_and_importing(tmp_path, monkeypatch):
    _pack(tmp_path)  # written to tmp_path/pack
    folder = tmp_path / "pack"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JIEDAO_DATABASE_URL", f"sqlite:///{tmp_path / 'layers.sqlite'}")
    runner = CliRunner()
    plain = runner.invoke(app, ["layers", "validate", str(folder)])
    assert plain.exit_code == 1
    assert "overlap by 8.0 m²" in " ".join(plain.stdout.split())

    repaired = runner.invoke(app, ["layers", "validate", str(folder), "--repair"])
    assert repaired.exit_code == 0, repaired.output
    said = " ".join(repaired.stdout.split())
    assert "repaired communities[440303010002/440303010001]: overlap of 8.0 m²" in said
    assert "2 repair(s) within 10 m²" in said
    assert "0 error(s)" in said

    stored = runner.invoke(app, ["layers", "import", str(folder), "--repair", "--activate"])
    assert stored.exit_code == 0, stored.output
    assert "Imported squares@1" in stored.stdout
