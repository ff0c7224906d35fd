"""The ``jiedao`` command line, run in-process on a temporary SpatiaLite file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from geo import crs as geocrs
from service.cli import app
from service.core.config import get_settings
from service.core.db import make_engine
from service.incidents.models import Incident
from service.layers.models import LayerVersion

from ..conftest import TEST_PACK
from .helpers import MEIYUAN, NIGANG, OUTSIDE


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SpatiaLite URL and the test pack in the environment; settings read anew."""
    path = tmp_path / "cli.sqlite"
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("JIEDAO_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("JIEDAO_LAYER_PACK", str(TEST_PACK))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _count(path: Path, *columns) -> list:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(*columns)).all())
    finally:
        engine.dispose()


def _pack_copy(tmp_path: Path, version: str) -> Path:
    folder = tmp_path / f"pack-{version}"
    shutil.copytree(TEST_PACK, folder)
    manifest = json.loads((folder / "pack.json").read_text(encoding="utf-8"))
    manifest["version"] = version
    (folder / "pack.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return folder


def _resolve(runner: CliRunner, *args: str) -> dict:
    result = runner.invoke(app, ["resolve", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_demo_stores_incidents_and_if_empty_does_nothing(runner, db_file):
    result = runner.invoke(app, ["demo", "--days", "2", "--seed", "1"])
    assert result.exit_code == 0, result.output
    [(stored,)] = _count(db_file, func.count(Incident.id))
    assert stored > 0
    assert f"Stored {stored:,} demo incidents" in result.stdout
    [(label, active)] = _count(db_file, LayerVersion.label, LayerVersion.active)
    assert (label, active) == ("squares@1", True)

    again = runner.invoke(app, ["demo", "--if-empty"])
    assert again.exit_code == 0, again.output
    assert "nothing to do" in again.stdout
    assert _count(db_file, func.count(Incident.id)) == [(stored,)]


def test_demo_same_seed_same_incidents(runner, db_file, tmp_path, monkeypatch):
    args = ["demo", "--days", "2", "--seed", "1", "--start", "2026-11-02"]
    assert runner.invoke(app, args).exit_code == 0
    first = _count(db_file, Incident.category, Incident.lon, Incident.lat, Incident.occurred_at)
    other = tmp_path / "other.sqlite"
    monkeypatch.setenv("JIEDAO_DATABASE_URL", f"sqlite:///{other}")
    get_settings.cache_clear()
    assert runner.invoke(app, args).exit_code == 0
    assert (
        _count(other, Incident.category, Incident.lon, Incident.lat, Incident.occurred_at) == first
    )


def test_demo_bad_start(runner, db_file):
    result = runner.invoke(app, ["demo", "--start", "yesterday"])
    assert result.exit_code == 1
    assert "YYYY-MM-DD" in result.stderr


def test_resolve_inside(runner, db_file):
    data = _resolve(runner, str(MEIYUAN[0]), str(MEIYUAN[1]))
    assert data["community_code"] == "440303010002"
    assert data["community_name"] == "梅园"
    assert data["squad"] == "west"
    assert data["outside"] is False
    assert data["layer"] == "squares@1"


def test_resolve_outside_exits_0(runner, db_file):
    result = runner.invoke(app, ["resolve", str(OUTSIDE[0]), str(OUTSIDE[1]), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # stdout stays pure JSON
    assert data["outside"] is True
    assert data["community_code"] is None
    assert data["nearest_community_code"] == "440303010003"
    assert data["outside_m"] == pytest.approx(7200, rel=0.01)


def _assert_outside_hint(stderr: str) -> None:
    flat = " ".join(stderr.split())
    assert "Outside the jurisdiction" in flat
    assert "440303010003" in flat
    assert "crs" in flat


def test_resolve_outside_table_hints_on_stderr(runner, db_file):
    result = runner.invoke(app, ["resolve", str(OUTSIDE[0]), str(OUTSIDE[1])])
    assert result.exit_code == 0, result.output
    _assert_outside_hint(result.stderr)


def test_resolve_outside_json_hints_on_stderr(runner, db_file):
    result = runner.invoke(app, ["resolve", str(OUTSIDE[0]), str(OUTSIDE[1]), "--json"])
    assert result.exit_code == 0, result.output
    _assert_outside_hint(result.stderr)


def test_resolve_gcj02_equals_wgs84_of_the_converted_point(runner, db_file):
    glon, glat = geocrs.wgs84_to_gcj02([NIGANG[0]], [NIGANG[1]])
    gcj = _resolve(runner, repr(float(glon[0])), repr(float(glat[0])), "--crs", "gcj02")
    wlon, wlat = geocrs.to_wgs84(glon, glat, source="gcj02")
    wgs = _resolve(runner, repr(float(wlon[0])), repr(float(wlat[0])))
    assert gcj == wgs
    assert gcj["community_code"] == "440303010001"
    # Undeclared, the GCJ-02 point lands hundreds of metres away: the option matters.
    assert gcj["lon_wgs84"] != pytest.approx(float(glon[0]), abs=1e-4)


def test_resolve_table_and_against_a_pack_folder(runner, db_file):
    result = runner.invoke(
        app, ["resolve", str(MEIYUAN[0]), str(MEIYUAN[1]), "--pack", str(TEST_PACK)]
    )
    assert result.exit_code == 0, result.output
    assert "440303010002" in result.stdout
    assert not db_file.exists()  # a pack folder needs no database


def test_resolve_unknown_crs(runner, db_file):
    result = runner.invoke(app, ["resolve", "114.1", "22.5", "--crs", "mars"])
    assert result.exit_code == 1
    assert "mars" in result.stderr


def test_layers_validate_ok_and_broken(runner, db_file, tmp_path):
    ok = runner.invoke(app, ["layers", "validate", str(TEST_PACK)])
    assert ok.exit_code == 0, ok.output
    assert "0 error(s)" in ok.stdout

    broken = _pack_copy(tmp_path, "broken")
    communities = json.loads((broken / "communities.geojson").read_text(encoding="utf-8"))
    communities["features"][1]["properties"]["squad"] = "north"
    (broken / "communities.geojson").write_text(
        json.dumps(communities, ensure_ascii=False), encoding="utf-8"
    )
    result = runner.invoke(app, ["layers", "validate", str(broken)])
    assert result.exit_code == 1
    flat = " ".join(result.stdout.split())
    assert "communities[" in flat
    assert "440303010002" in flat or "梅园" in flat
    assert "'north'" in flat
    assert "1 error(s)" in flat


def test_layers_import_list_activate(runner, db_file, tmp_path):
    first = runner.invoke(app, ["layers", "import", str(TEST_PACK)])
    assert first.exit_code == 0, first.output
    assert "Imported squares@1 and activated it" in " ".join(first.stdout.split())

    second = runner.invoke(app, ["layers", "import", str(_pack_copy(tmp_path, "2"))])
    assert second.exit_code == 0, second.output
    assert "jiedao layers activate squares@2" in " ".join(second.stdout.split())

    listed = runner.invoke(app, ["layers", "list"])
    assert listed.exit_code == 0, listed.output
    assert "squares@1" in listed.stdout
    assert "squares@2" in listed.stdout
    assert _count(db_file, LayerVersion.label, LayerVersion.active) == [
        ("squares@1", True),
        ("squares@2", False),
    ]

    switched = runner.invoke(app, ["layers", "activate", "squares@2"])
    assert switched.exit_code == 0, switched.output
    assert "Active layer version: squares@2" in switched.stdout
    assert _count(db_file, LayerVersion.label, LayerVersion.active) == [
        ("squares@1", False),
        ("squares@2", True),
    ]
    assert _resolve(runner, str(MEIYUAN[0]), str(MEIYUAN[1]))["layer"] == "squares@2"


def test_layers_import_twice_and_activate_unknown_fail_cleanly(runner, db_file):
    assert runner.invoke(app, ["layers", "import", str(TEST_PACK)]).exit_code == 0
    again = runner.invoke(app, ["layers", "import", str(TEST_PACK)])
    assert again.exit_code == 1
    assert "squares@1 is already stored" in " ".join(again.stderr.split())
    unknown = runner.invoke(app, ["layers", "activate", "squares@9"])
    assert unknown.exit_code == 1
    assert "squares@9" in unknown.stderr


@pytest.mark.parametrize(
    "case",
    [
        "resolve, no pack to import",
        "resolve --pack missing",
        "resolve --pack invalid",
        "demo, no pack to import",
    ],
)
def test_missing_or_invalid_pack_is_a_clean_error(runner, db_file, tmp_path, monkeypatch, case):
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = _pack_copy(tmp_path, "broken")
    text = (broken / "communities.geojson").read_text(encoding="utf-8")
    (broken / "communities.geojson").write_text(text.replace('"west"', '"north"'), encoding="utf-8")
    if case.endswith("no pack to import"):
        monkeypatch.setenv("JIEDAO_LAYER_PACK", str(empty))
        get_settings.cache_clear()
    args = {
        "resolve, no pack to import": ["resolve", "114.1", "22.57"],
        "resolve --pack missing": ["resolve", "114.1", "22.57", "--pack", str(empty)],
        "resolve --pack invalid": ["resolve", "114.1", "22.57", "--pack", str(broken)],
        "demo, no pack to import": ["demo", "--days", "1"],
    }[case]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "error:" in result.stderr


def test_layers_list_empty(runner, db_file):
    result = runner.invoke(app, ["layers", "list"])
    assert result.exit_code == 0
    assert "No layer versions yet" in result.stdout


def test_plan_a_shift_on_the_bundled_layers(runner, db_file, tmp_path, monkeypatch):
    import gpxpy

    monkeypatch.delenv("JIEDAO_LAYER_PACK")
    get_settings.cache_clear()
    gpx, briefing = tmp_path / "plan.gpx", tmp_path / "briefing.html"
    result = runner.invoke(
        app,
        [
            "plan",
            "--squad",
            "east",
            "--shift",
            "early",
            "--date",
            "2026-12-01",
            "--time-limit",
            "2",
            "--gpx",
            str(gpx),
            "--briefing",
            str(briefing),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "key roads swept 100%" in result.stdout
    parsed = gpxpy.parse(gpx.read_text(encoding="utf-8"))
    assert len(parsed.tracks) == 4  # the default roster
    assert "巡查二中队" in briefing.read_text(encoding="utf-8")
    assert "utilisation min" in result.stdout
    # --json: stdout is the stored document alone, figures included.
    as_json = runner.invoke(
        app,
        ["plan", "--squad", "east", "--shift", "early", "--date", "2026-12-01", "--json"],
    )
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.stdout)
    assert document["squad"] == "east"
    assert set(document["metrics"]) >= {"utilisation_min", "idle_units", "returned_on_time"}
    assert len(document["units"]) == 4
    bad = runner.invoke(
        app, ["plan", "--squad", "east", "--shift", "night", "--date", "2026-12-01"]
    )
    assert bad.exit_code == 1
    assert "shift" in bad.stderr


def test_worker_socket_hands_nodelay_to_accepted_connections() -> None:
    """Multi-worker serving: accepted connections must not wait for delayed ACKs (Nagle)."""
    import socket

    import uvicorn

    from service.cli import listening_socket

    listener = listening_socket(uvicorn.Config("service.app:create_app", host="127.0.0.1", port=0))
    try:
        listener.listen(1)
        client = socket.create_connection(listener.getsockname()[:2])
        accepted, _ = listener.accept()
        with client, accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        listener.close()


def test_hotspots_writes_the_monthly_pack(runner, db_file, tmp_path):
    stored = runner.invoke(app, ["demo", "--days", "14", "--seed", "2", "--start", "2026-11-01"])
    assert stored.exit_code == 0, stored.output
    html, csv = tmp_path / "map.html", tmp_path / "targets.csv"
    result = runner.invoke(
        app,
        [
            "hotspots",
            "--start",
            "2026-11-01",
            "--end",
            "2026-11-14",
            "--html",
            str(html),
            "--csv",
            str(csv),
        ],
    )
    assert result.exit_code == 0, result.output
    # Rejected reports of the worked demo month are not problems that happened: left out.
    statuses = [status for (status,) in _count(db_file, Incident.status)]
    counted = sum(1 for s in statuses if s not in ("rejected", "duplicate"))
    assert counted < len(statuses)
    assert f"{counted:,} incidents in" in result.stdout
    assert "jiedao-legend" in html.read_text(encoding="utf-8")
    lines = csv.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("\ufeff")
    assert f"map written to {html}" in result.stdout.replace("\n", "")
    bad = runner.invoke(app, ["hotspots", "--end", "14 Nov"])
    assert bad.exit_code == 1
    assert "YYYY-MM-DD" in bad.output


def test_every_command_says_which_database_and_warns_when_it_is_empty(runner, db_file):
    result = runner.invoke(app, ["hotspots", "--start", "2026-11-01", "--end", "2026-11-14"])
    assert result.exit_code == 0, result.output
    assert f"database: SpatiaLite file {db_file}" in result.output
    assert "warning:" in result.output
    assert "holds no incidents" in result.output
    listed = runner.invoke(app, ["layers", "list"])
    assert f"database: SpatiaLite file {db_file}" in listed.output
    assert "holds no incidents" not in listed.output  # only commands that need data warn
