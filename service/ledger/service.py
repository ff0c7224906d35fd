"""The rewards and penalties ledger (附件四), month by month, each amount on a line that names
the item or incident behind it.

For each information officer (the person who filed the community's daily report):

- **valid** +2 yuan for each item of an approved report (counted from what was entered); an
  item whose incident was rejected on verification (不予立案), or that a spot check found
  wrong (抽查), is **wrong**, -10 yuan; an item whose incident was a duplicate counts 0;
- **missed** -5 yuan for each incident in their community, during their duty hours, that came
  from another source (patrol, resident complaint, special inspection) and that no item of
  theirs covers: same category, within ``match_m`` metres and ``match_hours`` hours. The day's
  filer answers for it; with no report, the community's officers (the first by name). The
  officer may dispute it; an upheld dispute counts 0, an open one still counts;
- **awards** the office grants (tips 100-300 yuan, major information, a year without a major
  case), once a leader approved them.
"""

from __future__ import annotations

import calendar as monthdays
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any, Final

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from geo import crs as geocrs

from ..auth import service as auth_service
from ..auth.service import Principal
from ..core.config import Settings
from ..core.period import period_bounds
from ..core.timezones import BEIJING
from ..dispatch import service as dispatch_service
from ..dispatch.service import lifecycle
from ..incidents.service import Incident, get_category, public_id
from ..reports import service as reports_service
from ..reports.service import DailyReport, ReportItem
from . import store

__all__ = [
    "LINE_COLUMNS",
    "LedgerParams",
    "month_days",
    "month_lines",
    "params_of",
    "statements",
]

OTHER_SOURCES: Final = ("patrol", "complaint", "special_inspection")
LINE_COLUMNS: Final = (
    "person",
    "community",
    "community_name",
    "kind",
    "amount",
    "day",
    "report",
    "item",
    "incident",
    "category",
    "category_name",
    "note",
    "dispute",
)


@dataclass(frozen=True, slots=True)
class LedgerParams:
    """The amounts (yuan) and the rule of a missed item."""

    valid_yuan: int = 2
    wrong_yuan: int = -10
    missed_yuan: int = -5
    match_m: float = 150.0
    match_hours: float = 24.0
    duty_start: time = time(8, 0)
    duty_end: time = time(18, 0)

    def __post_init__(self) -> None:
        if self.match_m <= 0 or self.match_hours <= 0:
            raise ValueError("match_m and match_hours must be positive.")
        if not self.duty_start < self.duty_end:
            raise ValueError("duty_start must be before duty_end.")


def params_of(settings: Settings) -> LedgerParams:
    """The ledger's rule as the settings give it (``JIEDAO_LEDGER_*``)."""
    return LedgerParams(
        match_m=settings.ledger_match_m,
        match_hours=settings.ledger_match_hours,
        duty_start=settings.ledger_duty_start,
        duty_end=settings.ledger_duty_end,
    )


def month_days(month: str) -> tuple[date, date]:
    """The first and last day of ``YYYY-MM``."""
    year, number = (int(part) for part in month.split("-"))
    return date(year, number, 1), date(year, number, monthdays.monthrange(year, number)[1])


def _line(**fields: Any) -> dict[str, Any]:
    return {column: fields.get(column) for column in LINE_COLUMNS}


def _item_lines(
    reports: list[DailyReport],
    incidents: dict[int, Incident],
    findings: set[int],
    *,
    names: dict[str, str],
    params: LedgerParams,
    prefix: str,
) -> list[dict[str, Any]]:
    lines = []
    for report in reports:
        if report.status != "approved":
            continue
        for item in report.items:
            incident = incidents.get(item.incident_id) if item.incident_id else None
            status = lifecycle.canonical(incident.status) if incident is not None else None
            if item.id in findings:
                kind, amount, note = "wrong", params.wrong_yuan, "found wrong on a spot check"
            elif status == "rejected":
                kind, amount, note = "wrong", params.wrong_yuan, "rejected on verification"
            elif status == "duplicate":
                kind, amount, note = "duplicate", 0, "a duplicate of an earlier report"
            else:
                kind, amount, note = "valid", params.valid_yuan, item.matter or ""
            code = item.category
            lines.append(
                _line(
                    person=report.filed_by,
                    community=report.community,
                    community_name=names.get(report.community, report.community),
                    kind=kind,
                    amount=amount,
                    day=report.report_date,
                    report=report.id,
                    item=f"{report.report_date}#{item.seq}",
                    incident=None if incident is None else public_id(incident, prefix=prefix),
                    category=code or item.matter,
                    category_name=get_category(code).name_zh if code else item.matter,
                    note=note,
                )
            )
    return lines


def _covering(
    items: list[tuple[ReportItem, str]], incident: Incident, params: LedgerParams
) -> bool:
    """Whether an item of the same category lies within the distance and time of it."""
    same = [item for item, _ in items if item.category == incident.category]
    if not same:
        return False
    window = timedelta(hours=params.match_hours)
    near_in_time = [i for i in same if abs(i.discovered_at - incident.occurred_at) <= window]
    if not near_in_time:
        return False
    x, y = geocrs.to_metric(
        [incident.lon, *(i.lon for i in near_in_time)],
        [incident.lat, *(i.lat for i in near_in_time)],
    )
    return bool((np.hypot(x[1:] - x[0], y[1:] - y[0]) <= params.match_m).any())


def month_lines(
    session: Session,
    principal: Principal,
    *,
    month: str,
    names: dict[str, str],
    params: LedgerParams,
    prefix: str,
) -> pd.DataFrame:
    """Every line of the month's ledger within the reader's scope (an officer sees their own,
    a group head their community's), ordered by person, day and kind."""
    first, last = month_days(month)
    # Items of the day before and after cover an incident near midnight.
    reports = reports_service.reports_of_days(
        session, first - timedelta(days=1), last + timedelta(days=1)
    )
    since, until = period_bounds(first - timedelta(days=1), last + timedelta(days=1))
    incidents = {
        i.id: i for i in dispatch_service.reported_between(session, since=since, until=until)
    }
    linked = {
        item.incident_id
        for report in reports
        for item in report.items
        if item.incident_id is not None and item.incident_id not in incidents
    }
    for incident_id in linked:  # linked incidents reported outside the window (rare)
        found = session.get(Incident, incident_id)
        if found is not None:
            incidents[incident_id] = found
    in_month = [r for r in reports if first.isoformat() <= r.report_date <= last.isoformat()]
    findings = set(store.findings_for(session, [i.id for r in in_month for i in r.items]))
    lines = _item_lines(in_month, incidents, findings, names=names, params=params, prefix=prefix)
    lines += _missed_lines(
        session,
        reports,
        incidents,
        first=first,
        last=last,
        names=names,
        month=month,
        params=params,
        prefix=prefix,
    )
    for award in store.awards_of(session, month):
        if award.status == "approved":
            lines.append(
                _line(
                    person=award.person,
                    community=award.community,
                    community_name=names.get(award.community, award.community),
                    kind="award",
                    amount=award.amount,
                    day=award.decided_at.astimezone(BEIJING).date().isoformat()
                    if award.decided_at
                    else None,
                    note=f"{award.kind}: {award.reason} (award {award.id}, approved by "
                    f"{award.decided_by})",
                )
            )
    table = pd.DataFrame(lines, columns=list(LINE_COLUMNS))
    scope = auth_service.incident_scope(principal)
    if principal.role == "info_officer":
        table = table[table["person"] == principal.name]
    elif scope.community is not None:
        table = table[table["community"] == scope.community]
    return table.sort_values(["person", "day", "kind"], kind="stable").reset_index(drop=True)


def _missed_lines(
    session: Session,
    reports: list[DailyReport],
    incidents: dict[int, Incident],
    *,
    first: date,
    last: date,
    names: dict[str, str],
    month: str,
    params: LedgerParams,
    prefix: str,
) -> list[dict[str, Any]]:
    items_by_community: dict[str, list[tuple[ReportItem, str]]] = defaultdict(list)
    filer: dict[tuple[str, str], str] = {}
    for report in reports:
        filer[(report.community, report.report_date)] = report.filed_by
        for item in report.items:
            items_by_community[report.community].append((item, report.filed_by))
    officers: dict[str, list[str]] = defaultdict(list)
    for member in auth_service.enabled_people(session):
        if member.role == "info_officer" and member.community:
            officers[member.community].append(member.username)
    disputes = {(d.incident_id, d.person): d for d in store.disputes_of(session, month)}
    lines = []
    for incident in incidents.values():
        local = incident.occurred_at.astimezone(BEIJING)
        status = lifecycle.canonical(incident.status)
        if (
            incident.source not in OTHER_SOURCES
            or status in ("rejected", "duplicate")
            or not first <= local.date() <= last
            or not params.duty_start <= local.time() < params.duty_end
        ):
            continue
        day = local.date().isoformat()
        person = filer.get((incident.community_code, day)) or min(
            officers.get(incident.community_code, []),
            default=f"unassigned:{incident.community_code}",
        )
        mine = [(i, who) for i, who in items_by_community[incident.community_code] if who == person]
        if _covering(mine, incident, params):
            continue
        dispute = disputes.get((incident.id, person))
        upheld = dispute is not None and dispute.status == "upheld"
        lines.append(
            _line(
                person=person,
                community=incident.community_code,
                community_name=names.get(incident.community_code, incident.community_code),
                kind="missed",
                amount=0 if upheld else params.missed_yuan,
                day=day,
                incident=public_id(incident, prefix=prefix),
                category=incident.category,
                category_name=get_category(incident.category).name_zh,
                note=f"{incident.source} at {local:%H:%M}, not in the day's report",
                dispute=None if dispute is None else f"{dispute.status} (dispute {dispute.id})",
            )
        )
    return lines


def statements(lines: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per person and per community: the count and amount of each kind, and the total."""
    kinds = ("valid", "wrong", "duplicate", "missed", "award")
    frame = lines.assign(n=1)

    def table(keys: list[str]) -> pd.DataFrame:
        if frame.empty:
            return pd.DataFrame(columns=[*keys, *(f"{k}_items" for k in kinds), "total_yuan"])
        counts = frame.pivot_table(index=keys, columns="kind", values="n", aggfunc="sum")
        amounts = frame.pivot_table(index=keys, columns="kind", values="amount", aggfunc="sum")
        out = pd.DataFrame(index=counts.index)
        for kind in kinds:
            out[f"{kind}_items"] = counts.get(kind, pd.Series(0, index=counts.index))
            out[f"{kind}_yuan"] = amounts.get(kind, pd.Series(0, index=counts.index))
        out = out.fillna(0).astype(int)
        out["total_yuan"] = out[[f"{k}_yuan" for k in kinds]].sum(axis=1)
        return out.reset_index()

    return table(["person", "community", "community_name"]), table(["community", "community_name"])
