"""The demo month's work: each squad's units and roster, and every demo case carried through.

A month of reports that nobody touched is not a month of the plan: a newcomer would find every
case open, urgent ones weeks overdue on top of the queue and no unit on duty. :func:`play_month`
replays the month the way the team works it, through the service's own steps (accept, assign,
on scene, handled, verify and close, reject, park, rework), each stamped at its time of day and
audited under a demo role:

- each squad gets the standard units (two on foot, an e-bike, a car) at its base station, on the
  roster of both shifts of every day of the month and of tomorrow;
- the case team accepts a report (立案) within minutes when urgent, within the hour otherwise,
  during the desk's hours (07-23), or rejects it (不予立案);
- the squad's unit that is free first goes out within its shift, is on scene after a ride that
  suits its mode, handles the case and is free again when back; a few cases wait for another
  department and are parked (挂账), a few are sent back for rework (返工);
- the case team verifies and closes (核查结案) the next working hours, someone other than the
  handler, as the lifecycle requires.

Nothing later than ``now`` is recorded, so the month ends in the state a real one would: the
last hours' reports waiting, units out on cases, handled cases waiting for verification. Units
on the current shift are on duty at their last position; the others are off duty.
Everything random comes from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.timezones import BEIJING
from service.incidents.service import Incident, get_category
from service.layers.service import ActiveLayer

from . import service as dispatch
from .schemas import Ping, UnitCreate
from .units import add_pings, change_status, create_unit, get_unit, put_roster

__all__ = ["BACKUP_UNIT", "FLEET", "MonthParams", "MonthSummary", "play_month"]

# Per squad: unit suffix and mode (the standard roster of a shift, as the planner assumes).
FLEET: Final = (("F1", "foot"), ("F2", "foot"), ("E1", "ebike"), ("C1", "car"))
BACKUP_UNIT: Final = "backup-C1"
SHIFTS: Final = (("early", 7, 15), ("late", 15, 23))
# Ride to the scene, minutes (low, high), by mode.
_RIDE_MIN: Final = {"foot": (8, 22), "ebike": (5, 14), "car": (4, 12)}
_PARK_REASONS: Final = (
    "等待住建部门认定 waiting for the housing department's ruling",
    "当事人联系不上，待约谈 the party cannot be reached; an interview is pending",
    "需与交警联合执法 needs a joint operation with the traffic police",
)
_REJECT_REASONS: Final = (
    "现场核实无此问题 not found on site",
    "不属于执法范围，已转交相关部门 not ours; passed to the department concerned",
)
_REWORK_NOTE: Final = "复查未整改到位 not fixed on re-inspection"


@dataclass(frozen=True, slots=True)
class MonthParams:
    """Shares of the month's reports by outcome, and the roles the steps are recorded as.

    Parameters
    ----------
    seed
        Seed of every draw: the same incidents and seed give the same month.
    rejected, parked, rework, late
        Shares of reports rejected (不予立案), parked (挂账) after acceptance, of handled
        cases sent back once (返工), and of cases whose check comes days late.
    """

    seed: int = 0
    rejected: float = 0.05
    parked: float = 0.02
    rework: float = 0.04
    late: float = 0.06
    # The demo users (service.auth.people.demo_users) the steps are recorded as.
    case_team: str = "demo-case"
    verifier: str = "demo-case2"
    dispatcher: str = "demo-dispatch"
    handler: str = "demo-squad"
    admin: str = "demo-admin"

    def __post_init__(self) -> None:
        for name in ("rejected", "parked", "rework", "late"):
            value = getattr(self, name)
            if not 0.0 <= value <= 0.5:
                msg = f"Expected 0 <= {name} <= 0.5, got {value!r}."
                raise ValueError(msg)


@dataclass
class MonthSummary:
    """What the month's replay recorded: cases by their status at ``now`` and the units."""

    statuses: dict[str, int] = field(default_factory=dict)
    units: list[str] = field(default_factory=list)
    on_duty: list[str] = field(default_factory=list)


@dataclass
class _Crew:
    code: str
    mode: str
    squad: str
    home: tuple[float, float]
    free_at: dt.datetime
    where: tuple[float, float]
    busy: bool = False


def _shift_bounds(moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The shift ``moment`` falls in, or the next one when it falls between shifts."""
    local = moment.astimezone(BEIJING)
    day = local.date()
    for offset in (0, 1):
        for _, start, end in SHIFTS:
            opens = dt.datetime.combine(day + dt.timedelta(days=offset), dt.time(start), BEIJING)
            closes = opens + dt.timedelta(hours=end - start)
            if local < closes:
                return max(local, opens), closes
    raise AssertionError("unreachable: a shift opens every day")


def _desk_time(moment: dt.datetime) -> dt.datetime:
    """``moment``, or 07:00 the next morning when the desk is closed (23-07)."""
    local = moment.astimezone(BEIJING)
    if 7 <= local.hour < 23:
        return local
    day = local.date() + dt.timedelta(days=1 if local.hour >= 23 else 0)
    return dt.datetime.combine(day, dt.time(7), BEIJING)


def _station(layer: ActiveLayer, code: object) -> tuple[float, float] | None:
    """The lon/lat of station ``code`` in the layer, or None when it has no such station."""
    stations = layer.pack.stations
    match = stations[stations["code"].astype(str) == str(code)]
    if not code or match.empty:
        return None
    point = match.geometry.iloc[0]
    return float(point.x), float(point.y)


def _squad_home(layer: ActiveLayer, squad: str) -> tuple[float, float]:
    """The squad's base station, else a point inside its communities."""
    base = layer.pack.squads.set_index("code")["base_station"].get(squad)
    home = _station(layer, base)
    if home is not None:
        return home
    areas = layer.pack.communities[layer.pack.communities["squad"].astype(str) == squad]
    point = areas.union_all().representative_point()
    return float(point.x), float(point.y)


def _fleet(
    session: Session, layer: ActiveLayer, *, first_day: dt.date, days: int, params: MonthParams
) -> dict[str, list[_Crew]]:
    opened = dt.datetime.combine(first_day, dt.time(6, 30), BEIJING)
    crews: dict[str, list[_Crew]] = {}
    for row in layer.pack.squads.itertuples(index=False):
        squad = str(row.code)
        base = row.base_station if isinstance(row.base_station, str) and row.base_station else None
        home = _squad_home(layer, squad)
        for suffix, mode in FLEET:
            code = f"{squad}-{suffix}"
            create_unit(
                session,
                UnitCreate(
                    unit_id=code,
                    name=f"{row.name_zh} {suffix}",
                    squad=squad,
                    mode=mode,
                    home_station=base,
                    status="available",
                ),
                actor=params.admin,
                now=opened,
                layer=layer,
            )
            crews.setdefault(squad, []).append(_Crew(code, mode, squad, home, opened, home))
    # The backup team (后援队) supports the squads when enforcement meets resistance; its car
    # is on call at the team base at any hour (the replay does not send it).
    squad = str(layer.pack.squads["code"].iloc[0])
    stations = layer.pack.stations
    team_base = stations[
        (stations["kind"] == "enforcement_base") & (stations["squad"].fillna("").astype(str) == "")
    ]
    base = str(team_base["code"].iloc[0]) if not team_base.empty else None
    create_unit(
        session,
        UnitCreate(
            unit_id=BACKUP_UNIT,
            name="后援队 backup team car",
            squad=squad,
            mode="car",
            home_station=base,
            team="backup",
            status="available",
        ),
        actor=params.admin,
        now=opened,
        layer=layer,
    )
    codes = [c.code for squad_crews in crews.values() for c in squad_crews]
    for offset in range(days + 1):  # and tomorrow, for the planner
        for shift, _, _ in SHIFTS:
            put_roster(
                session,
                first_day + dt.timedelta(days=offset),
                shift,
                codes,
                actor=params.admin,
                now=opened,
            )
    return crews


def play_month(
    session: Session,
    layer: ActiveLayer,
    *,
    first_day: dt.date,
    days: int,
    now: dt.datetime,
    params: MonthParams | None = None,
    progress: Callable[[int], None] | None = None,
) -> MonthSummary:
    """Create the squads' units and roster and work the stored demo incidents up to ``now``.

    In the caller's unit of work (the demo stores the month in one transaction). The steps of
    all cases run in the order of their times, so each unit's history reads forward and a unit
    is sent only when it is free. ``progress`` is called with the number of incidents whose
    work is done since its last call.
    """
    params = params or MonthParams()
    rng = np.random.default_rng(params.seed)
    crews = _fleet(session, layer, first_day=first_day, days=days, params=params)
    incidents = list(session.scalars(select(Incident).order_by(Incident.reported_at, Incident.id)))
    # Steps in time order; at the same time urgent cases first (they take a unit first).
    queue: list[tuple[dt.datetime, bool, int, Iterator[dt.datetime]]] = []
    for k, incident in enumerate(incidents):
        case = _case(session, incident, crews.get(incident.squad, []), rng=rng, params=params)
        heapq.heappush(queue, (next(case), not incident.urgent, k, case))
    done = told = 0
    while queue:
        at, routine, k, case = heapq.heappop(queue)
        if at <= now:
            following = next(case, None)
            if following is not None:
                heapq.heappush(queue, (following, routine, k, case))
                continue
        # This case's work is done, or its next step lies after now.
        done += 1
        if progress is not None and (done - told >= 50 or not queue):
            progress(done - told)
            told = done
    summary = MonthSummary(units=[c.code for cs in crews.values() for c in cs])
    _end_of_replay(session, layer, crews, now=now, params=params, summary=summary)
    for (status,) in session.execute(select(Incident.status)):
        summary.statuses[status] = summary.statuses.get(status, 0) + 1
    return summary


def _minutes(rng: np.random.Generator, low: float, high: float) -> dt.timedelta:
    return dt.timedelta(minutes=float(rng.uniform(low, high)))


def _case(
    session: Session,
    incident: Incident,
    crews: list[_Crew],
    *,
    rng: np.random.Generator,
    params: MonthParams,
) -> Iterator[dt.datetime]:
    """One case's lifecycle: yields the time of its next step, and takes it when resumed."""
    # Every draw is made up front, so a case's draws do not depend on how far the month got.
    fate = float(rng.random())
    rework = float(rng.random()) < params.rework
    accept_delay = _minutes(rng, 1, 4) if incident.urgent else _minutes(rng, 5, 60)
    ride = {mode: _minutes(rng, *span) for mode, span in _RIDE_MIN.items()}
    handling = _minutes(rng, 10, 45)
    back = _minutes(rng, 5, 15)
    # The case team checks short-limit cases (stalls: 2 working hours) within the hour, the
    # others within the day; a few checks slip by days, as they do.
    quick = incident.urgent or get_category(incident.category).time_limit_hours <= 4
    verify_after = _minutes(rng, 15, 60) if quick else _minutes(rng, 60, 12 * 60)
    if float(rng.random()) < params.late:
        verify_after += dt.timedelta(days=float(rng.uniform(1, 3)))
    parked_for = dt.timedelta(days=float(rng.uniform(1, 8)))
    note_pick = int(rng.integers(0, 1000))
    reported = incident.reported_at
    if reported.tzinfo is None:
        reported = reported.replace(tzinfo=dt.UTC)

    def step(name: str, at: dt.datetime, actor: str, note: str | None = None) -> None:
        dispatch.record_step(session, incident, name, actor=actor, now=at, note=note)

    if incident.urgent:
        # Urgent: the dispatcher sends a unit straight from the report (reported -> dispatched;
        # the 5-minute dispatch rule leaves no time for a separate acceptance).
        at = reported + accept_delay
        yield at
    else:
        at = _desk_time(reported + accept_delay)
        yield at
        if fate < params.rejected:
            step("rejected", at, params.case_team, _REJECT_REASONS[note_pick % 2])
            return
        step("accepted", at, params.case_team)
    if not incident.urgent and fate < params.rejected + params.parked:
        at += dt.timedelta(minutes=30)
        yield at
        step("parked", at, params.case_team, _PARK_REASONS[note_pick % len(_PARK_REASONS)])
        at = _desk_time(at + parked_for)
        yield at
        step("unparked", at, params.case_team, "部门已答复 the department answered")
    if not crews:
        return
    # Sent when a unit of the squad is free, within a shift with half an hour left.
    while True:
        opens, closes = _shift_bounds(at)
        if closes - opens < dt.timedelta(minutes=30):
            opens, closes = _shift_bounds(closes)
        if opens > at:
            at = opens
            yield at
        free = [c for c in crews if not c.busy]
        if free:
            break
        at = max(at + dt.timedelta(minutes=1), min(c.free_at for c in crews))
        yield at
    crew = min(free, key=lambda c: (c.free_at, c.code))
    crew.busy = True
    dispatch.assign(session, incident, crew.code, actor=params.dispatcher, now=at)
    at += ride[crew.mode]
    yield at
    step("on_scene", at, params.handler)
    crew.where = (incident.lon, incident.lat)
    at += handling
    crew.free_at = at + back
    yield at
    step("handled", at, params.handler)
    at = crew.free_at
    yield at
    unit = get_unit(session, crew.code)
    if unit.status == "returning":
        change_status(session, unit, "available", actor=params.handler, now=at, reason="back")
    crew.busy = False
    at = _desk_time(at + verify_after)
    if rework:
        yield at
        step("reopened", at, params.verifier, _REWORK_NOTE)
        # A re-inspection by the squad the next day, on its way (no unit is held for it).
        at = _desk_time(at + dt.timedelta(hours=18))
        yield at
        step("on_scene", at, params.handler)
        at += handling
        yield at
        step("handled", at, params.handler)
        at = _desk_time(at + verify_after)
    yield at
    step("verified_closed", at, params.verifier)


def _end_of_replay(
    session: Session,
    layer: ActiveLayer,
    crews: dict[str, list[_Crew]],
    *,
    now: dt.datetime,
    params: MonthParams,
    summary: MonthSummary,
) -> None:
    """Units on the current shift report where they are; the others go off duty."""
    on_shift = dispatch.current_shift(now) is not None
    for crew in (c for cs in crews.values() for c in cs):
        unit = get_unit(session, crew.code)
        if not on_shift and unit.status == "available":
            change_status(
                session, unit, "off_duty", actor=params.handler, now=now, reason="shift end"
            )
            continue
        summary.on_duty.append(crew.code)
        lon, lat = crew.where if unit.status in ("on_scene", "returning") else crew.home
        add_pings(session, unit, [Ping(lon=lon, lat=lat, crs="wgs84", at=now)], now=now)
    backup = get_unit(session, BACKUP_UNIT)
    lon, lat = _station(layer, backup.home_station) or _squad_home(layer, backup.squad)
    add_pings(session, backup, [Ping(lon=lon, lat=lat, crs="wgs84", at=now)], now=now)
    summary.units.append(BACKUP_UNIT)
    summary.on_duty.append(BACKUP_UNIT)
