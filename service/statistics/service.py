"""Case statistics in the indicators of GB/T 30428 (digital urban management assessment).

One row per incident reported in the period (:func:`case_records`) is the evidence; the
indicators (:func:`indicators`) are counts and ratios over those rows, grouped by community,
squad, category, source or month, so every figure can be checked by hand against its cases.

Definitions, for a period [start, end] of Beijing days and a cut-off (the period's end or now,
whichever is earlier):

- reports 上报数: incidents reported in the period; invalid 无效上报: rejected or duplicate;
  valid 有效上报 = reports - invalid;
- filed 立案数: cases with an ``accepted`` or ``dispatched`` step;
- closed 结案数: filed cases verified and closed (核查结案) by the cut-off;
- due 应结案数: filed cases whose time limit (working hours from filing) ends by the cut-off,
  plus those closed earlier, less the parked; closed on time 按期结案数: closed by their due
  time;
- closure rate 结案率 = closed / filed; on-time closure rate 按期结案率 = on time / due;
- handled 处置数: cases with a ``handled`` step; reworked 返工数: cases reopened (返工) at least
  once; rework rate 返工率 = reworked / handled;
- overdue 超期: filed cases past their due time at the cut-off without being closed (and not
  parked), or closed after it; parked 挂账: cases parked at the cut-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Final

import pandas as pd
from sqlalchemy.orm import Session

from ..auth import service as auth_service
from ..auth.service import Principal
from ..core.calendar import WorkingCalendar
from ..core.period import period_bounds
from ..core.timezones import BEIJING
from ..dispatch import service as dispatch_service
from ..dispatch.service import lifecycle
from ..incidents.service import get_category, public_id
from .schemas import DIMENSIONS, Dimension

__all__ = [
    "DIMENSIONS",
    "INDICATORS",
    "RECORD_COLUMNS",
    "Dimension",
    "case_records",
    "indicators",
]

# The label shown beside each dimension's key.
_LABELS: Final[dict[str, str]] = {"community": "community_name", "category": "category_name"}

COUNTS: Final = (
    "reports",
    "valid",
    "invalid",
    "filed",
    "closed",
    "due",
    "closed_on_time",
    "handled",
    "reworked",
    "overdue",
    "parked",
)
RATES: Final = {
    "closure_rate": ("closed", "filed"),
    "on_time_closure_rate": ("closed_on_time", "due"),
    "rework_rate": ("reworked", "handled"),
}
INDICATORS: Final = COUNTS + tuple(RATES)
RECORD_COLUMNS: Final = (
    "id",
    "number",
    "reported_at",
    "month",
    "community",
    "community_name",
    "squad",
    "category",
    "category_name",
    "source",
    "status",
    "filed_at",
    "due_at",
    "closed_at",
    *COUNTS[1:],
)
_CLOSING_STEPS: Final = ("verified_closed", "rejected", "duplicate")
_PARKED: Final = frozenset({"parked", "on_hold"})


def case_records(
    session: Session,
    principal: Principal,
    *,
    start: date,
    end: date,
    calendar: WorkingCalendar,
    now: datetime,
    prefix: str,
) -> pd.DataFrame:
    """One row per incident reported in the period (within the reader's scope), with the
    flags the indicators count; ordered by report time."""
    since, until = period_bounds(start, end)
    cutoff = min(until, now)
    scope = auth_service.incident_scope(principal)
    steps = dispatch_service.first_steps(
        session, since=since, until=until, community=scope.community, squad=scope.squad
    )
    cases = dispatch_service.reported_between(
        session, since=since, until=until, community=scope.community, squad=scope.squad
    )
    rows = []
    for incident in cases:
        seen = {step: at for step, at in steps.get(incident.id, {}).items() if at <= cutoff}
        status = lifecycle.canonical(incident.status)
        invalid = status in ("rejected", "duplicate")
        filed_at = min((seen[s] for s in dispatch_service.FILING_STEPS if s in seen), default=None)
        filed = filed_at is not None and not invalid
        due_at = None
        if filed and filed_at is not None:
            limit = get_category(incident.category).time_limit_hours
            due_at = calendar.add_working_hours(filed_at, limit)
        closed_at = seen.get("verified_closed")
        if closed_at is None and status == "closed" and incident.updated_at <= cutoff:
            closed_at = incident.updated_at  # an earlier status name, closed without a step
        closed = filed and closed_at is not None
        on_time = closed and due_at is not None and closed_at is not None and closed_at <= due_at
        parked = status in _PARKED
        # A parked case (挂账) waits on something outside the team: neither due nor overdue.
        due = filed and due_at is not None and (closed or (not parked and due_at <= cutoff))
        overdue = (
            filed
            and due_at is not None
            and ((closed and not on_time) or (not closed and not parked and cutoff > due_at))
        )
        local = incident.reported_at.astimezone(BEIJING)
        rows.append(
            {
                "id": public_id(incident, prefix=prefix),
                "number": incident.id,
                "reported_at": local.isoformat(timespec="seconds"),
                "month": local.strftime("%Y-%m"),
                "community": incident.community_code,
                "community_name": incident.community_name,
                "squad": incident.squad,
                "category": incident.category,
                "category_name": get_category(incident.category).name_zh,
                "source": incident.source,
                "status": status,
                "filed_at": _local(filed_at),
                "due_at": _local(due_at),
                "closed_at": _local(closed_at if closed else None),
                "valid": not invalid,
                "invalid": invalid,
                "filed": filed,
                "closed": closed,
                "due": due,
                "closed_on_time": on_time,
                "handled": "handled" in seen,
                "reworked": "reopened" in seen,
                "overdue": overdue,
                "parked": parked,
            }
        )
    return pd.DataFrame(rows, columns=list(RECORD_COLUMNS))


def _local(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(BEIJING).isoformat(timespec="seconds")


def indicators(records: pd.DataFrame, *, by: Sequence[str]) -> pd.DataFrame:
    """The indicators per group of ``by`` (one row in all when ``by`` is empty), rates rounded
    to 4 places (None where the denominator is 0). ``by`` names columns of ``records``: the
    dimensions, or a column a caller added (the unit, for the appraisal)."""
    frame = records.assign(reports=1)
    keys: list[str] = []
    for dimension in by:
        keys.append(dimension)
        if dimension in _LABELS:
            keys.append(_LABELS[dimension])
    counts = frame[list(COUNTS)].astype(int)
    if keys:
        table = counts.join(frame[keys]).groupby(keys, sort=True, dropna=False).sum()
        table = table.reset_index()
    else:
        table = counts.sum().to_frame().T
    for rate, (numerator, denominator) in RATES.items():
        ratio = table[numerator] / table[denominator].where(table[denominator] > 0)
        table[rate] = ratio.round(4).astype(object).where(ratio.notna(), None)
    return table[[*keys, *INDICATORS]]
