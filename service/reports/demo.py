"""The demo month's daily reports, filed and checked as the groups would have done it.

Each community's information officer files the day's report the next morning: the day's
daily-inspection incidents as its items, a few matters for other departments (rental housing,
public order, business licences), or "nothing to report"; the group head approves it, mostly
before 09:30, sometimes late, sometimes after returning it once; a few days have no report.
Every step goes through :mod:`service.reports.service`, so the demo's reports, audit rows and
compliance are what the service would have made. Seeded: the same month and seed give the same
reports.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Final

import numpy as np
from sqlalchemy.orm import Session

from ..auth.service import Principal, demo_principal
from ..core.timezones import BEIJING
from ..incidents.service import Incident, IntakeParams, public_id
from ..layers.service import ActiveLayer
from ..organisation import service as organisation_service
from ..organisation.service import Organisation
from . import service
from .schemas import DailyReportPut, ReportItemIn

__all__ = ["ReportDemoParams", "ReportDemoSummary", "demo_group_usernames", "play_reports"]

_MATTERS: Final = ("rental_housing", "public_order", "business_licence")
_DUTY: Final = (time(8), time(18))  # the officers' patrol hours (the ledger's default)
_MATTER_TEXT: Final = {
    "rental_housing": "出租屋未登记租客信息",
    "public_order": "夜间聚集喧哗, 报派出所",
    "business_licence": "无照经营, 移交市场监管所",
}


@dataclass(frozen=True, slots=True)
class ReportDemoParams:
    """Shares of the community-days by how their report went.

    Parameters
    ----------
    seed
        Seed of every draw.
    missing, late, returned
        Shares of community-days with no report, approved after the deadline, and returned
        once before approval.
    matters
        Mean number of items a day for other departments, per community.
    seen
        Share of the problems found by others (patrols, residents, special inspections) in
        the officer's duty hours that the officer saw too and reports (linked to their
        incident); the rest are the ledger's missed items.
    """

    seed: int = 0
    missing: float = 0.03
    late: float = 0.07
    returned: float = 0.05
    matters: float = 0.25
    seen: float = 0.8

    def __post_init__(self) -> None:
        for name in ("missing", "late", "returned", "seen"):
            share = getattr(self, name)
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name}={share} is not a share between 0 and 1.")
        if self.missing + self.late > 1.0:
            raise ValueError("missing + late exceed 1.")
        if self.matters < 0:
            raise ValueError(f"matters={self.matters} is negative.")


@dataclass
class ReportDemoSummary:
    """What the demo filed: reports by state, items by kind."""

    states: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)


def demo_group_usernames(community: str, *, first: str) -> tuple[str, str]:
    """The demo officer's and group head's usernames of ``community`` (plain ``demo-info`` and
    ``demo-head`` for the first community, then with the code's last three digits)."""
    suffix = "" if community == first else f"-{community[-3:]}"
    return f"demo-info{suffix}", f"demo-head{suffix}"


def _community_points(
    incidents: list[Incident],
) -> dict[str, list[tuple[float, float]]]:
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for incident in incidents:
        points[incident.community_code].append((incident.lon, incident.lat))
    return points


def play_reports(
    session: Session,
    layer: ActiveLayer,
    incidents: list[Incident],
    *,
    first_day: date,
    days: int,
    now: datetime,
    organisation: Organisation,
    intake: IntakeParams,
    params: ReportDemoParams,
    progress: Callable[[int], None] | None = None,
) -> ReportDemoSummary:
    """File, check and approve each community's reports of the month's days up to ``now``."""
    rng = np.random.default_rng(params.seed)
    codes = [str(c) for c in layer.pack.communities["code"]]
    first = codes[0]
    by_day: dict[tuple[str, date], list[Incident]] = defaultdict(list)
    for incident in sorted(incidents, key=lambda i: i.id):
        local = incident.occurred_at.astimezone(BEIJING)
        on_duty = _DUTY[0] <= local.time() < _DUTY[1]
        if incident.source == "daily_inspection" or (on_duty and rng.random() < params.seen):
            by_day[(incident.community_code, local.date())].append(incident)
    points = _community_points(incidents)
    summary = ReportDemoSummary()
    deadline = organisation_service.report_deadline(organisation)
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        morning = datetime.combine(day + timedelta(days=1), time(7, 30), tzinfo=BEIJING)
        for code in codes:
            draw = rng.random()
            if draw < params.missing or morning > now:
                summary.states["missing" if morning <= now else "not yet due"] += 1
                continue
            officer, head = (
                demo_principal(name, role, community=code)
                for name, role in zip(
                    demo_group_usernames(code, first=first),
                    ("info_officer", "group_head"),
                    strict=True,
                )
            )
            items = _items(
                rng,
                by_day.get((code, day), []),
                points.get(code, []),
                day,
                layer,
                code,
                params,
                intake,
            )
            late = draw < params.missing + params.late
            submitted = morning + timedelta(minutes=float(rng.uniform(0, 90)))
            if late:
                submitted = datetime.combine(
                    day + timedelta(days=1), deadline, tzinfo=BEIJING
                ) + timedelta(minutes=float(rng.uniform(20, 300)))
            state = _work(
                session,
                layer,
                officer,
                head,
                code,
                day,
                items,
                submitted=submitted,
                returned=bool(rng.random() < params.returned),
                review_min=float(rng.uniform(5, 25)),
                now=now,
                organisation=organisation,
                intake=intake,
            )
            summary.states[state] += 1
            summary.items.update(i.category or i.matter or "" for i in items)
        if progress is not None:
            progress(1)
    return summary


def _items(
    rng: np.random.Generator,
    day_incidents: list[Incident],
    points: list[tuple[float, float]],
    day: date,
    layer: ActiveLayer,
    code: str,
    params: ReportDemoParams,
    intake: IntakeParams,
) -> list[ReportItemIn]:
    items = [
        ReportItemIn(
            category=incident.category,
            location={"lon": incident.lon, "lat": incident.lat, "crs": "wgs84"},
            discovered_at=incident.occurred_at,
            urgent=incident.urgent,
            description=incident.description,
            incident=public_id(incident, prefix=intake.id_prefix),
        )
        for incident in day_incidents
    ]
    for _ in range(int(rng.poisson(params.matters)) if points else 0):
        lon, lat = points[int(rng.integers(len(points)))]
        if layer.jurisdiction.resolve_one(lon, lat).get("community_code") != code:
            continue
        matter = _MATTERS[int(rng.integers(len(_MATTERS)))]
        seen = datetime.combine(day, time(8), tzinfo=BEIJING) + timedelta(
            minutes=float(rng.uniform(0, 13 * 60))
        )
        items.append(
            ReportItemIn(
                matter=matter,
                location={"lon": lon, "lat": lat, "crs": "wgs84"},
                discovered_at=seen,
                description=_MATTER_TEXT[matter],
            )
        )
    return items


def _work(
    session: Session,
    layer: ActiveLayer,
    officer: Principal,
    head: Principal,
    code: str,
    day: date,
    items: list[ReportItemIn],
    *,
    submitted: datetime,
    returned: bool,
    review_min: float,
    now: datetime,
    organisation: Organisation,
    intake: IntakeParams,
) -> str:
    """One community-day's report through save, submit, (return, resubmit), approve; stops at
    ``now``. Returns the state it reached."""
    saved = submitted - timedelta(minutes=3)
    if saved > now:
        return "not yet filed"
    body = DailyReportPut(items=items, nothing_to_report=not items)
    prefix = intake.id_prefix
    service.put_report(session, officer, code, day, body, layer=layer, prefix=prefix, now=saved)
    if submitted > now:
        return "draft"
    service.submit_report(session, officer, code, day, layer=layer, now=submitted)
    checked = submitted + timedelta(minutes=review_min)
    if returned:
        if checked > now:
            return "submitted"
        service.return_report(
            session, head, code, day, layer=layer, note="请补充位置说明后重新提交", now=checked
        )
        again = checked + timedelta(minutes=15)
        if again > now:
            return "returned"
        service.put_report(session, officer, code, day, body, layer=layer, prefix=prefix, now=again)
        service.submit_report(session, officer, code, day, layer=layer, now=again)
        checked = again + timedelta(minutes=review_min)
    if checked > now:
        return "submitted"
    service.approve_report(
        session,
        head,
        code,
        day,
        layer=layer,
        organisation=organisation,
        intake=intake,
        now=checked,
    )
    return "approved"
