"""The year's figures for the appraisal the plan describes (年度考核), per information officer
and per enforcement unit (a crew: jiedao records units, not the officers in them).

Officers: daily reports filed, those approved by the deadline, their items, the share valid
(by the ledger's rules: not rejected on verification nor found wrong on a spot check), items
missed, and the year's ledger total. Units: the filed cases they handled (the unit that had
the case last), closed, on-time handling (closed by the due time, of those due), rework.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from ..auth.service import Principal
from ..core.calendar import WorkingCalendar
from ..core.period import period_bounds
from ..core.timezones import BEIJING
from ..dispatch import service as dispatch_service
from ..ledger import service as ledger_service
from ..organisation.service import Organisation
from ..reports import service as reports_service
from . import service

__all__ = ["OFFICER_COLUMNS", "UNIT_COLUMNS", "officer_appraisal", "unit_appraisal"]

OFFICER_COLUMNS = (
    "person",
    "community",
    "community_name",
    "reports_filed",
    "reports_on_time",
    "on_time_share",
    "items",
    "valid_items",
    "valid_share",
    "wrong_items",
    "missed_items",
    "total_yuan",
)
UNIT_COLUMNS = (
    "unit",
    "filed",
    "handled",
    "closed",
    "due",
    "closed_on_time",
    "on_time_closure_rate",
    "reworked",
    "rework_rate",
    "overdue",
)


def _months(year: int, last: date) -> list[str]:
    return [f"{year}-{m:02d}" for m in range(1, last.month + 1)]


def officer_appraisal(
    session: Session,
    principal: Principal,
    *,
    year: int,
    names: dict[str, str],
    organisation: Organisation,
    params: ledger_service.LedgerParams,
    prefix: str,
    now: datetime,
) -> pd.DataFrame:
    """One row per information officer who filed a report or has a ledger line this year."""
    first = date(year, 1, 1)
    last = min(date(year, 12, 31), now.astimezone(BEIJING).date())
    lines = pd.concat(
        [
            ledger_service.month_lines(
                session, principal, month=month, names=names, params=params, prefix=prefix
            )
            for month in _months(year, last)
        ],
        ignore_index=True,
    )
    people, _ = ledger_service.statements(lines)
    reports = [
        r
        for r in reports_service.reports_of_days(session, first, last)
        if r.status == "approved" or r.submitted_at is not None
    ]
    filed: dict[tuple[str, str], list[bool]] = {}
    for report in reports:
        due = reports_service.deadline_of(date.fromisoformat(report.report_date), organisation)
        on_time = report.approved_at is not None and report.approved_at <= due
        filed.setdefault((report.filed_by, report.community), []).append(on_time)
    rows = []
    seen = set()
    for record in people.to_dict(orient="records"):
        row = {str(k): v for k, v in record.items()}
        key = (row["person"], row["community"])
        seen.add(key)
        rows.append(_officer_row(row, filed.get(key, [])))
    for (person, community), marks in filed.items():
        if (person, community) in seen or not _visible(principal, person, community):
            continue
        empty = {"person": person, "community": community, "community_name": names.get(community)}
        rows.append(_officer_row(empty, marks))
    return pd.DataFrame(rows, columns=list(OFFICER_COLUMNS)).sort_values(["community", "person"])


def _visible(principal: Principal, person: str, community: str) -> bool:
    if principal.role == "info_officer":
        return person == principal.name
    return principal.community is None or principal.community == community


def _officer_row(row: dict[str, Any], marks: list[bool]) -> dict[str, Any]:
    valid = int(row.get("valid_items", 0) or 0)
    wrong = int(row.get("wrong_items", 0) or 0)
    duplicate = int(row.get("duplicate_items", 0) or 0)
    return {
        "person": row["person"],
        "community": row["community"],
        "community_name": row.get("community_name"),
        "reports_filed": len(marks),
        "reports_on_time": sum(marks),
        "on_time_share": round(sum(marks) / len(marks), 4) if marks else None,
        "items": valid + wrong + duplicate,
        "valid_items": valid,
        "valid_share": round(valid / (valid + wrong), 4) if valid + wrong else None,
        "wrong_items": wrong,
        "missed_items": int(row.get("missed_items", 0) or 0),
        "total_yuan": int(row.get("total_yuan", 0) or 0),
    }


def unit_appraisal(
    session: Session,
    principal: Principal,
    *,
    year: int,
    calendar: WorkingCalendar,
    prefix: str,
    now: datetime,
) -> pd.DataFrame:
    """One row per unit that had a filed case of the year."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    records = service.case_records(
        session, principal, start=first, end=last, calendar=calendar, now=now, prefix=prefix
    )
    since, until = period_bounds(first, last)
    units = dispatch_service.handling_units(session, since=since, until=until)
    records = records.assign(unit=records["number"].map(units))
    records = records[records["filed"] & records["unit"].notna()]
    table = service.indicators(records, by=("unit",))
    return table[list(UNIT_COLUMNS)].sort_values("unit").reset_index(drop=True)
