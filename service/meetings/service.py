"""The monthly meeting's pack (月度例会材料): one page a leader reads before the meeting.

For a month: the case indicators per community and squad beside last month and the year to
date; the hot-spot map and the campaign targets; the cases overdue or parked; the late or
missing daily reports; the ledger's totals per community. Every figure comes from the same
functions the statistics, reports and ledger pages use, so the pack agrees with them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

import pandas as pd
from markupsafe import Markup
from sqlalchemy.orm import Session

from geo.campaign import targets_table

from ..auth.service import Principal
from ..core.calendar import WorkingCalendar
from ..core.chromium import png_snapshot
from ..core.exceptions import UnavailableError
from ..core.timezones import BEIJING
from ..hotspots import service as hotspots_service
from ..layers.service import ActiveLayer
from ..ledger import service as ledger_service
from ..organisation.service import Organisation
from ..pages.service import render
from ..reports import service as reports_service
from ..statistics import service as statistics_service

__all__ = ["MonthlyPack", "monthly_pack", "pack_html", "previous_month"]

# The indicators the pack shows, with their Chinese names, in the order of the table.
SHOWN: Final = {
    "reports": "上报",
    "filed": "立案",
    "closed": "结案",
    "closure_rate": "结案率",
    "on_time_closure_rate": "按期结案率",
    "rework_rate": "返工率",
    "overdue": "超期",
    "parked": "挂账",
}
RATES: Final = frozenset({"closure_rate", "on_time_closure_rate", "rework_rate"})
# A case's status now, as the pack's list of overdue cases says it.
STATUS_NAMES: Final = {
    "reported": "待受理",
    "accepted": "已立案",
    "dispatched": "已派遣",
    "on_scene": "处置中",
    "handled": "已处置待核查",
    "verified_closed": "已结案 (逾期)",
    "closed": "已结案 (逾期)",
    "parked": "挂账",
    "on_hold": "挂账",
}


@dataclass(frozen=True)
class MonthlyPack:
    """What the pack shows, as tables (one row per community, squad, case, report ...)."""

    month: str
    first: date
    last: date
    generated_at: datetime
    communities: pd.DataFrame
    squads: pd.DataFrame
    total: pd.DataFrame
    targets: pd.DataFrame
    overdue: pd.DataFrame
    reports: pd.DataFrame
    report_totals: pd.DataFrame
    ledger: pd.DataFrame | None
    map_png: bytes | None
    map_note: str | None


def previous_month(first: date) -> tuple[date, date]:
    """The first and last day of the month before the one starting on ``first``."""
    last = first - timedelta(days=1)
    return last.replace(day=1), last


def _compare(
    now_table: pd.DataFrame, before: pd.DataFrame, ytd: pd.DataFrame, keys: list[str]
) -> pd.DataFrame:
    """The month's indicators with the change against last month and the year to date."""
    shown = list(SHOWN)
    merged = now_table[[*keys, *shown]].merge(
        before[[*keys, *shown]], on=keys, how="outer", suffixes=("", "_before")
    )
    merged = merged.merge(
        ytd[[*keys, *shown]].rename(columns={k: f"{k}_ytd" for k in shown}), on=keys, how="outer"
    )
    for key in shown:
        current = pd.to_numeric(merged[key], errors="coerce")
        earlier = pd.to_numeric(merged[f"{key}_before"], errors="coerce")
        merged[f"{key}_change"] = current - (earlier if key in RATES else earlier.fillna(0))
    counts = [k for k in shown if k not in RATES]
    merged[counts] = merged[counts].fillna(0).astype(int)
    return merged.sort_values(keys).reset_index(drop=True)


def _indicator_tables(
    session: Session,
    principal: Principal,
    *,
    first: date,
    last: date,
    calendar: WorkingCalendar,
    now: datetime,
    prefix: str,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    def records(start: date, end: date) -> pd.DataFrame:
        return statistics_service.case_records(
            session, principal, start=start, end=end, calendar=calendar, now=now, prefix=prefix
        )

    month = records(first, last)
    before = records(*previous_month(first))
    ytd = records(first.replace(month=1, day=1), last)
    tables = []
    for by in (("community",), ("squad",), ()):
        keys = ["community", "community_name"] if by == ("community",) else list(by)
        grouped = [statistics_service.indicators(r, by=by) for r in (month, before, ytd)]
        if not by:
            grouped = [g.assign(scope="all") for g in grouped]
            keys = ["scope"]
        tables.append(_compare(grouped[0], grouped[1], grouped[2], keys=keys))
    # Open past due at the month's end, or parked: what the meeting must decide about.
    overdue = month[(month["overdue"] & ~month["closed"]) | month["parked"]].sort_values("due_at")
    overdue = overdue.assign(state=[STATUS_NAMES.get(s, s) for s in overdue["status"]])
    columns = ["id", "community_name", "category_name", "reported_at", "due_at", "state"]
    return tables[0], tables[1], tables[2], overdue[columns].reset_index(drop=True)


def monthly_pack(
    session: Session,
    principal: Principal,
    *,
    month: str,
    layer: ActiveLayer,
    organisation: Organisation,
    calendar: WorkingCalendar,
    ledger_params: ledger_service.LedgerParams,
    prefix: str,
    now: datetime,
    with_map: bool = True,
    tianditu_key: str | None = None,
) -> MonthlyPack:
    """Assemble the month's pack within the reader's scope."""
    first, last = ledger_service.month_days(month)
    communities, squads, total, overdue = _indicator_tables(
        session, principal, first=first, last=last, calendar=calendar, now=now, prefix=prefix
    )
    analysis = hotspots_service.analyse(
        session, layer, hotspots_service.HotspotQuery(start=first, end=last)
    )
    targets = targets_table(
        analysis.targets, categories=hotspots_service.CATEGORY_NAMES, squads=layer.squad_names
    )
    map_png, map_note = None, None
    if with_map:
        html = hotspots_service.map_html(
            analysis, layer, basemap="osm", tianditu_key=tianditu_key, standalone=True
        )
        try:
            map_png = png_snapshot(html, width=1400, height=900)
        except UnavailableError as exc:
            map_note = f"{exc.message} {exc.fix}"
    compliance = reports_service.compliance(
        session,
        principal,
        start=first,
        end=min(last, now.astimezone(BEIJING).date() - timedelta(days=1)),
        layer=layer,
        organisation=organisation,
        prefix=prefix,
        now=now,
    )
    names = layer.community_names
    late = pd.DataFrame(
        [
            {
                "community": names.get(day.community, day.community),
                "date": day.date.isoformat(),
                "state": day.state,
                "approved_at": day.approved_at.astimezone(BEIJING).strftime("%m-%d %H:%M")
                if day.approved_at
                else "",
            }
            for day in compliance.days
            if day.state in ("late", "missing")
        ],
        columns=["community", "date", "state", "approved_at"],
    )
    report_totals = pd.DataFrame([t.model_dump() for t in compliance.totals])
    ledger = None
    if principal.can("ledger:read"):
        lines = ledger_service.month_lines(
            session, principal, month=month, names=names, params=ledger_params, prefix=prefix
        )
        ledger = ledger_service.statements(lines)[1]
    return MonthlyPack(
        month=month,
        first=first,
        last=last,
        generated_at=now,
        communities=communities,
        squads=squads,
        total=total,
        targets=targets,
        overdue=overdue,
        reports=late,
        report_totals=report_totals,
        ledger=ledger,
        map_png=map_png,
        map_note=map_note,
    )


def _cell(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if key in RATES:
        return f"{float(value) * 100:.1f}%"
    return f"{int(value):,}"


def _change(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if key in RATES:
        points = float(value) * 100
        return f"{points:+.1f} pt" if abs(points) >= 0.05 else "±0"
    number = int(value)
    return f"{number:+d}" if number else "±0"


def _rows(table: pd.DataFrame, label: str) -> list[dict[str, Any]]:
    out = []
    for row in table.to_dict(orient="records"):
        out.append(
            {
                "label": row.get(label) or row.get("squad") or "合计 all",
                "cells": [
                    {
                        "value": _cell(key, row.get(key)),
                        "change": _change(key, row.get(f"{key}_change")),
                        "ytd": _cell(key, row.get(f"{key}_ytd")),
                        "worse": _worse(key, row.get(f"{key}_change")),
                    }
                    for key in SHOWN
                ],
            }
        )
    return out


def _worse(key: str, change: Any) -> bool:
    """Whether the change is for the worse (red in the pack)."""
    if change is None or (isinstance(change, float) and pd.isna(change)) or change == 0:
        return False
    up_is_bad = key in ("rework_rate", "overdue", "parked")
    down_is_bad = key in ("closure_rate", "on_time_closure_rate")
    return bool((up_is_bad and change > 0) or (down_is_bad and change < 0))


def pack_html(pack: MonthlyPack, *, squad_names: dict[str, str], pdf_link: str | None) -> str:
    """The pack as one printable page (A4 landscape), Chinese first."""
    squads = pack.squads.assign(
        squad_label=[squad_names.get(str(s), str(s)) for s in pack.squads["squad"]]
    )
    image = (
        Markup(f"data:image/png;base64,{base64.b64encode(pack.map_png).decode('ascii')}")
        if pack.map_png
        else None
    )
    return render(
        "monthly_pack.html.j2",
        month=pack.month,
        period=f"{pack.first} — {pack.last}",
        generated=pack.generated_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"),
        headers=list(SHOWN.values()),
        communities=_rows(pack.communities, "community_name"),
        squads=_rows(squads, "squad_label"),
        total=_rows(pack.total, "scope"),
        targets=pack.targets.head(10).to_dict(orient="records"),
        target_columns=list(pack.targets.columns),
        overdue=pack.overdue.to_dict(orient="records"),
        reports=pack.reports.to_dict(orient="records"),
        report_totals=pack.report_totals.to_dict(orient="records"),
        ledger=None if pack.ledger is None else pack.ledger.to_dict(orient="records"),
        map_image=image,
        map_note=pack.map_note,
        pdf_link=pdf_link,
    )
