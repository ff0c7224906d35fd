"""Case statistics: the indicators by community, squad, category, source or month, and the
cases behind them, as JSON, CSV or XLSX."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from ..auth.service import Principal, require
from ..core.config import Settings
from ..core.deps import NowDep, ReadSessionDep, SettingsDep
from ..core.errors import ERROR_RESPONSES, errors
from ..core.period import Period, PeriodDep
from ..core.spreadsheet import FILE_RESPONSES, TableFormat, csv_response, xlsx_response
from ..incidents.service import IntakeDep
from . import service
from .schemas import CaseRecordRead, CaseStatisticsRead, Dimension, IndicatorRow

__all__ = ["router"]

router = APIRouter(prefix="/statistics", tags=["statistics"], responses=ERROR_RESPONSES)


_READER = Depends(require("statistics:read"))


def _records(
    session: Session,
    principal: Principal,
    period: Period,
    settings: Settings,
    now: datetime,
    prefix: str,
) -> pd.DataFrame:
    return service.case_records(
        session,
        principal,
        start=period.start,
        end=period.end,
        calendar=settings.working_calendar(),
        now=now,
        prefix=prefix,
    )


def _rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): (None if isinstance(v, float) and pd.isna(v) else v) for k, v in row.items()}
        for row in table.to_dict(orient="records")
    ]


@router.get(
    "/cases", response_model=CaseStatisticsRead, responses={**errors(422), **FILE_RESPONSES}
)
def case_statistics(
    period: PeriodDep,
    session: ReadSessionDep,
    settings: SettingsDep,
    intake: IntakeDep,
    now: NowDep,
    principal: Annotated[Principal, _READER],
    by: Annotated[
        list[Dimension] | None,
        Query(description="Group by community, squad, category, source, month (repeatable)."),
    ] = None,
    format: Annotated[
        TableFormat, Query(description="json, csv or xlsx (with a sheet of the cases).")
    ] = "json",
) -> Any:
    """The GB/T 30428 indicators of the cases reported in the period (reports, valid, filed
    立案, closed 结案, closure rate, on-time closure rate, rework rate, overdue, parked) per
    group, and their totals; a squad leader's are their squad's."""
    default: list[Dimension] = ["community"]
    dimensions = tuple(dict.fromkeys(by or default))
    records = _records(session, principal, period, settings, now, intake.id_prefix)
    table = service.indicators(records, by=dimensions)
    total = service.indicators(records, by=())
    name = f"case-statistics-{period.start}-{period.end}"
    if format == "csv":
        return csv_response(table, filename=f"{name}.csv")
    if format == "xlsx":
        return xlsx_response(
            {"indicators": table, "total": total, "cases": records}, filename=f"{name}.xlsx"
        )
    cutoff = min(period.bounds()[1], now)
    return CaseStatisticsRead(
        start=period.start,
        end=period.end,
        cutoff=cutoff,
        by=list(dimensions),
        rows=[IndicatorRow(**row) for row in _rows(table)],
        total=IndicatorRow(**_rows(total)[0]),
    )


@router.get(
    "/cases/records",
    response_model=list[CaseRecordRead],
    responses={**errors(422), **FILE_RESPONSES},
)
def case_statistics_records(
    period: PeriodDep,
    session: ReadSessionDep,
    settings: SettingsDep,
    intake: IntakeDep,
    now: NowDep,
    principal: Annotated[Principal, _READER],
    format: Annotated[TableFormat, Query(description="json, csv or xlsx.")] = "json",
) -> Any:
    """The cases behind the indicators, one row each, with what each counts as: the figures
    can be checked by hand (a filter on a column gives each count)."""
    records = _records(session, principal, period, settings, now, intake.id_prefix)
    name = f"cases-{period.start}-{period.end}"
    if format == "csv":
        return csv_response(records, filename=f"{name}.csv")
    if format == "xlsx":
        return xlsx_response({"cases": records}, filename=f"{name}.xlsx")
    return [CaseRecordRead(**row) for row in _rows(records)]
