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
from ..core.spreadsheet import (
    FILE_RESPONSES,
    TableFormat,
    csv_response,
    json_rows,
    xlsx_response,
)
from ..core.timezones import BEIJING
from ..incidents.service import IntakeDep
from ..layers.service import LayerDep
from ..ledger import service as ledger_service
from ..organisation import service as organisation_service
from . import appraisal as appraisal_service
from . import service
from .schemas import (
    AppraisalRead,
    CaseRecordRead,
    CaseStatisticsRead,
    Dimension,
    IndicatorRow,
    OfficerYear,
    UnitYear,
)

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
        rows=[IndicatorRow(**row) for row in json_rows(table)],
        total=IndicatorRow(**json_rows(total)[0]),
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
    return [CaseRecordRead(**row) for row in json_rows(records)]


@router.get("/appraisal", response_model=AppraisalRead, responses={**errors(422), **FILE_RESPONSES})
def appraisal(
    session: ReadSessionDep,
    layer: LayerDep,
    settings: SettingsDep,
    intake: IntakeDep,
    now: NowDep,
    principal: Annotated[Principal, _READER],
    year: Annotated[int | None, Query(ge=2020, le=2100, description="Default: this year.")] = None,
    format: Annotated[
        TableFormat, Query(description="json, csv (officers) or xlsx (officers and units).")
    ] = "json",
) -> Any:
    """The year's figures per information officer (reports, on time, items, valid share,
    missed, ledger total) and per enforcement unit (cases handled, closed, on-time handling,
    rework), for the yearly appraisal."""
    wanted = year or now.astimezone(BEIJING).year
    organisation, _ = organisation_service.current_organisation(
        session, layer, path=settings.organisation_file
    )
    officers = appraisal_service.officer_appraisal(
        session,
        principal,
        year=wanted,
        names=layer.community_names,
        organisation=organisation,
        params=ledger_service.params_of(settings),
        prefix=intake.id_prefix,
        now=now,
    )
    units = appraisal_service.unit_appraisal(
        session,
        principal,
        year=wanted,
        calendar=settings.working_calendar(),
        prefix=intake.id_prefix,
        now=now,
    )
    name = f"appraisal-{wanted}"
    if format == "csv":
        return csv_response(officers, filename=f"{name}-officers.csv")
    if format == "xlsx":
        return xlsx_response({"officers": officers, "units": units}, filename=f"{name}.xlsx")
    return AppraisalRead(
        year=wanted,
        officers=[OfficerYear(**row) for row in json_rows(officers)],
        units=[UnitYear(**row) for row in json_rows(units)],
    )
