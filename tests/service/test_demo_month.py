"""The demo month is worked: units on a roster, cases carried through, nothing after its end.

``jiedao demo --now`` ends the month at a fixed moment, so these runs are the same every time.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from service.cli import app
from service.core.config import get_settings
from service.core.db import make_engine
from service.core.timezones import BEIJING
from service.dispatch.models import Assignment, DutyRoster, IncidentEvent, Unit, UnitStatusEvent
from service.incidents.models import Incident
from service.reports.models import DailyReport, ReportItem

from ..conftest import TEST_PACK

# A Wednesday, mid-morning: the early shift is out.
END = dt.datetime(2026, 11, 4, 10, 30, tzinfo=BEIJING)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _day(incident: Incident) -> str:
    return _utc(incident.occurred_at).astimezone(BEIJING).date().isoformat()


@pytest.fixture
def month(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run ``jiedao demo`` into a fresh SpatiaLite file; returns a function that reads it."""
    monkeypatch.chdir(tmp_path)

    def run(name: str, *args: str):
        path = tmp_path / f"{name}.sqlite"
        monkeypatch.setenv("JIEDAO_DATABASE_URL", f"sqlite:///{path}")
        monkeypatch.setenv("JIEDAO_LAYER_PACK", str(TEST_PACK))
        get_settings.cache_clear()
        result = CliRunner().invoke(app, ["demo", *args])
        get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        return make_engine(f"sqlite:///{path}"), result.stdout

    return run


def test_the_month_is_worked_up_to_its_end(month):
    engine, printed = month("m", "--days", "7", "--seed", "1", "--now", END.isoformat())
    with engine.connect() as conn:
        units = {u.code: u for u in conn.execute(select(Unit))}
        incidents = {i.id: i for i in conn.execute(select(Incident))}
        events = list(conn.execute(select(IncidentEvent).order_by(IncidentEvent.id)))
        unit_events = list(conn.execute(select(UnitStatusEvent).order_by(UnitStatusEvent.id)))
        assignments = list(conn.execute(select(Assignment).order_by(Assignment.assigned_at)))
        roster = list(conn.execute(select(DutyRoster)))
    engine.dispose()
    end = END.astimezone(dt.UTC)

    # Each squad's standard units and the backup car; on the roster of both shifts of the 8
    # days and of tomorrow.
    assert sorted(units) == sorted(
        [f"{s}-{k}" for s in ("west", "east") for k in ("F1", "F2", "E1", "C1")] + ["backup-C1"]
    )
    assert len(roster) == 9 * 2 * 8
    # 10:30 is the early shift: every unit is on duty where it last was.
    assert all(u.status != "off_duty" and u.last_lon is not None for u in units.values())
    assert "on duty now: west-F1" in printed.replace("\n", " ")

    # Nothing is recorded after the month's end.
    assert max(_utc(e.at) for e in events) <= end
    assert max(_utc(e.at) for e in unit_events) <= end

    statuses = defaultdict(int)
    for incident in incidents.values():
        statuses[incident.status] += 1
    assert statuses["verified_closed"] > 0.7 * len(incidents)
    assert statuses["rejected"] > 0
    # No month-old queue: what waits for a unit was reported within the last day.
    waiting = [i for i in incidents.values() if i.status in ("reported", "accepted")]
    assert waiting
    assert all(end - _utc(i.reported_at) < dt.timedelta(days=1) for i in waiting)

    steps = defaultdict(list)
    for e in events:
        steps[e.incident_id].append(e)
    for incident_id, chain in steps.items():
        handled = [e.actor for e in chain if e.step == "handled"]
        verified = [e.actor for e in chain if e.step == "verified_closed"]
        assert not set(handled) & set(verified), incident_id  # 核查结案 by someone else
        sent = [e for e in chain if e.step == "dispatched"]
        for e in sent:  # within a shift, in Beijing time
            assert 7 <= _utc(e.at).astimezone(BEIJING).hour < 23

    # Each unit's history reads forward, and a unit is sent only once back from its last case.
    by_unit = defaultdict(list)
    for e in unit_events:
        by_unit[e.unit_id].append(_utc(e.at))
    assert all(times == sorted(times) for times in by_unit.values())
    first_handled = {
        i: min(_utc(e.at) for e in chain if e.step == "handled")
        for i, chain in steps.items()
        if any(e.step == "handled" for e in chain)
    }
    sent_by_unit = defaultdict(list)
    for a in assignments:
        sent_by_unit[a.unit_id].append(a)
    for mine in sent_by_unit.values():
        for earlier, later in itertools.pairwise(mine):
            assert first_handled[earlier.incident_id] <= _utc(later.assigned_at)


def test_same_seed_same_month(month):
    def work(name: str):
        engine, _ = month(name, "--days", "3", "--seed", "4", "--now", END.isoformat())
        with engine.connect() as conn:
            rows = conn.execute(
                select(Incident.category, Incident.status, IncidentEvent.step, IncidentEvent.at)
                .join(IncidentEvent, IncidentEvent.incident_id == Incident.id)
                .order_by(IncidentEvent.id)
            ).all()
        engine.dispose()
        return rows

    first = work("a")
    assert len(first) > 100
    assert work("b") == first


def test_now_must_be_a_past_moment_with_a_zone(month, tmp_path):
    runner = CliRunner()
    for value, says in (
        ("tomorrow", "is not a time"),
        ("2026-11-04T10:30", "has no zone"),
        ("2999-01-01T00:00+08:00", "is in the future"),
    ):
        result = runner.invoke(app, ["demo", "--now", value])
        assert result.exit_code == 1
        assert says in result.stderr


def test_a_second_month_is_refused_with_the_fix(month):
    engine, _ = month("twice", "--days", "1", "--seed", "1", "--now", END.isoformat())
    engine.dispose()
    again = CliRunner().invoke(app, ["demo", "--days", "1"])
    assert again.exit_code == 1
    said = " ".join(again.stderr.split())
    assert "already holds" in said
    assert "--if-empty" in said


def test_the_month_has_its_daily_reports_filed_and_checked(month):
    engine, printed = month("r", "--days", "7", "--seed", "2", "--now", END.isoformat())
    with engine.connect() as conn:
        reports = list(conn.execute(select(DailyReport)))
        items = list(conn.execute(select(ReportItem)))
        incidents = {i.id: i for i in conn.execute(select(Incident))}
        communities = {i.community_code for i in incidents.values()}
    engine.dispose()
    assert "daily reports by community and day" in " ".join(printed.split())
    days = {r.report_date for r in reports}
    # Seven days before END's day, and END's day itself is not due yet (its report is filed
    # the next morning); END's eve is due at 09:30 on END's day, which is before END.
    first = (END - dt.timedelta(days=7)).date()
    assert days <= {(first + dt.timedelta(days=k)).isoformat() for k in range(7)}
    assert len(days) == 7
    assert {r.community for r in reports} <= communities
    # Most community-days have an approved report, a few none (missing), none half-done.
    assert len(reports) >= 0.85 * 7 * len(communities)
    assert {r.status for r in reports} <= {"approved", "submitted", "returned", "draft"}
    approved = [r for r in reports if r.status == "approved"]
    assert len(approved) >= 0.85 * len(reports)
    for report in approved:
        assert report.approved_by != report.filed_by
        assert _utc(report.approved_at) <= END
        assert report.approved_by.startswith("demo-head")
    # Each linked item is an incident of that community and day; the rest are matters for
    # other departments, routed.
    by_id = {r.id: r for r in reports}
    for item in items:
        report = by_id[item.report_id]
        if item.incident_id is not None:
            incident = incidents[item.incident_id]
            local = _utc(incident.occurred_at).astimezone(BEIJING)
            # Its own inspection, or a problem others found that the officer saw on duty.
            assert incident.source == "daily_inspection" or 8 <= local.hour < 18
            assert incident.community_code == report.community
            seen = _utc(incident.occurred_at).astimezone(BEIJING).date().isoformat()
            assert seen == report.report_date
        else:
            assert item.matter is not None
        if report.status == "approved":
            assert item.routed_to
    linked = {i.incident_id for i in items if i.incident_id is not None}
    inspected = {
        i.id
        for i in incidents.values()
        if i.source == "daily_inspection"
        and _utc(i.occurred_at).astimezone(BEIJING).date() >= first
        and _utc(i.occurred_at).astimezone(BEIJING).date() < END.date()
    }
    filed = {(r.community, r.report_date) for r in reports}
    covered = {i for i in inspected if (incidents[i].community_code, _day(incidents[i])) in filed}
    assert covered <= linked  # a filed report lists every inspection of its day
