"""Daily information reports: the officer saves and submits the day's report, the group head
approves or returns it, the enforcement team reads the reports and their compliance."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from ..auth.service import Principal, require
from ..core.config import Settings
from ..core.deps import NowDep, ReadSessionDep, SessionDep, SettingsDep
from ..core.errors import ERROR_RESPONSES, NotFoundError, errors
from ..core.timezones import BEIJING
from ..incidents.service import IntakeDep, IntakeParams
from ..layers.service import ActiveLayer, LayerDep
from ..organisation import service as organisation_service
from ..organisation.service import Organisation
from . import service
from .models import DailyReport
from .schemas import ComplianceRead, DailyReportPut, DailyReportRead, ReportReturn

__all__ = ["router"]

router = APIRouter(prefix="/reports", tags=["reports"], responses=ERROR_RESPONSES)
Community = Annotated[str, Path(min_length=1, max_length=20, description="Community code.")]
Day = Annotated[date, Path(description="The day the report covers, YYYY-MM-DD.")]


def _as(permission: str) -> object:
    return Depends(require(permission))


def _organisation(session: Session, layer: ActiveLayer, settings: Settings) -> Organisation:
    organisation, _ = organisation_service.current_organisation(
        session, layer, path=settings.organisation_file
    )
    return organisation


def _read(
    session: Session,
    report: DailyReport,
    *,
    layer: ActiveLayer,
    settings: Settings,
    intake: IntakeParams,
    now: datetime,
) -> DailyReportRead:
    return service.report_read(
        session,
        report,
        layer=layer,
        organisation=_organisation(session, layer, settings),
        prefix=intake.id_prefix,
        now=now,
    )


@router.get("/daily/{community}/{day}", response_model=DailyReportRead, responses=errors(404))
def read_report(
    community: Community,
    day: Day,
    session: ReadSessionDep,
    layer: LayerDep,
    settings: SettingsDep,
    intake: IntakeDep,
    now: NowDep,
    principal: Annotated[Principal, _as("reports:read")],
) -> DailyReportRead:
    """A community's report of one day, its state against the deadline and each item's fate
    (the incident it became, the department it went to, the 15-minute rule for urgent ones)."""
    report = service.get_report(session, principal, community, day, layer=layer)
    if report is None:
        raise NotFoundError(
            "day",
            f"Community {community} has no report of {day} yet.",
            "GET /reports/compliance shows which days are missing.",
        )
    return _read(session, report, layer=layer, settings=settings, intake=intake, now=now)


@router.put("/daily/{community}/{day}", response_model=DailyReportRead, responses=errors(404, 409))
def save_report(
    community: Community,
    day: Day,
    body: DailyReportPut,
    session: SessionDep,
    layer: LayerDep,
    settings: SettingsDep,
    intake: IntakeDep,
    now: NowDep,
    principal: Annotated[Principal, _as("reports:file")],
) -> DailyReportRead:
    """Save the day's report as a draft: its items (category or matter, place, time seen,
    urgent), or ``nothing_to_report``. Replaces the draft's items; refused once submitted."""
    report = service.put_report(
        session, principal, community, day, body, layer=layer, prefix=intake.id_prefix, now=now
    )
    return _read(session, report, layer=layer, settings=settings, intake=intake, now=now)


@router.post(
    "/daily/{community}/{day}/submit",
    response_model=DailyReportRead,
    responses=errors(404, 409),
)
def submit_report(
    community: Community,
    day: Day,
    session: SessionDep,
    layer: LayerDep,
    settings: SettingsDep,
    intake: IntakeDep,
    now: NowDep,
    principal: Annotated[Principal, _as("reports:file")],
) -> DailyReportRead:
    """Hand the draft to the group head for approval."""
    report = service.submit_report(session, principal, community, day, layer=layer, now=now)
    return _read(session, report, layer=layer, settings=settings, intake=intake, now=now)


@router.post(
    "/daily/{community}/{day}/approve",
    response_model=DailyReportRead,
    responses=errors(404, 409),
)
def approve_report(
    community: Community,
    day: Day,
    session: SessionDep,
    layer: LayerDep,
    settings: SettingsDep,
    intake: IntakeDep,
    now: NowDep,
    principal: Annotated[Principal, _as("reports:approve")],
) -> DailyReportRead:
    """Approve the report (it now counts as submitted): its items in the 21 categories become
    incidents, and every item is routed to its department."""
    organisation = _organisation(session, layer, settings)
    report = service.approve_report(
        session,
        principal,
        community,
        day,
        layer=layer,
        organisation=organisation,
        intake=intake,
        now=now,
    )
    return _read(session, report, layer=layer, settings=settings, intake=intake, now=now)


@router.post(
    "/daily/{community}/{day}/return",
    response_model=DailyReportRead,
    responses=errors(404, 409),
)
def return_report(
    community: Community,
    day: Day,
    body: ReportReturn,
    session: SessionDep,
    layer: LayerDep,
    settings: SettingsDep,
    intake: IntakeDep,
    now: NowDep,
    principal: Annotated[Principal, _as("reports:approve")],
) -> DailyReportRead:
    """Return the report to the officer with a note of what to change."""
    report = service.return_report(
        session, principal, community, day, layer=layer, note=body.note, now=now
    )
    return _read(session, report, layer=layer, settings=settings, intake=intake, now=now)


@router.get("/compliance", response_model=ComplianceRead)
def read_compliance(
    session: ReadSessionDep,
    layer: LayerDep,
    settings: SettingsDep,
    intake: IntakeDep,
    now: NowDep,
    principal: Annotated[Principal, _as("reports:read")],
    start: Annotated[
        date | None, Query(description="First day (default: 6 days before end).")
    ] = None,
    end: Annotated[
        date | None, Query(description="Last day, included (default: yesterday).")
    ] = None,
) -> ComplianceRead:
    """Per community and day: the report on time, late, missing or still pending, its items and
    its urgent items reported late; and each community's totals (its scope for an officer, a
    group head or a squad leader)."""
    last = end or now.astimezone(BEIJING).date() - timedelta(days=1)
    first = start or last - timedelta(days=6)
    organisation = _organisation(session, layer, settings)
    return service.compliance(
        session,
        principal,
        start=first,
        end=last,
        layer=layer,
        organisation=organisation,
        prefix=intake.id_prefix,
        now=now,
    )
