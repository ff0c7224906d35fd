"""Case files (案卷): list and retrieve the filed cases, add documents, archive closed ones,
mark typical cases. Reads for the case team and leaders; writes for the case team."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from ..auth.service import Principal, require
from ..core.config import Settings
from ..core.deps import NowDep, ReadSessionDep, SessionDep, SettingsDep
from ..core.errors import ERROR_RESPONSES, errors
from ..core.period import PeriodDep
from ..incidents.service import Incident, IntakeDep, IntakeParams
from . import service
from .schemas import ArchiveIn, CaseFileList, CaseFileRead, DocumentIn, TypicalIn

__all__ = ["router"]

router = APIRouter(prefix="/casefiles", tags=["case files"], responses=ERROR_RESPONSES)
_READER = Depends(require("casefiles:read"))
_WRITER = Depends(require("casefiles:write"))


def _read(
    session: Session,
    principal: Principal,
    incident: Incident,
    *,
    intake: IntakeParams,
    settings: Settings,
    now: datetime,
) -> CaseFileRead:
    return service.case_file_read(
        session,
        principal,
        incident,
        prefix=intake.id_prefix,
        calendar=settings.working_calendar(),
        now=now,
        dispatch_limit_s=settings.urgent_dispatch_limit_s,
        arrival_limit_s=settings.urgent_arrival_limit_s,
    )


@router.get("", response_model=CaseFileList, responses=errors(422))
def list_case_files(
    period: PeriodDep,
    session: ReadSessionDep,
    intake: IntakeDep,
    principal: Annotated[Principal, _READER],
    community: Annotated[str | None, Query(max_length=20, description="Community code.")] = None,
    category: Annotated[str | None, Query(pattern=r"^C\d{2}$", description="C01..C21.")] = None,
    typical: Annotated[bool | None, Query(description="Typical cases only, or none.")] = None,
    archived: Annotated[bool | None, Query(description="Archived only, or not yet.")] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Text in the description.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CaseFileList:
    """The filed cases reported in the period (default this month), newest first: retrieve
    by community, category, text, typical or archived."""
    items, total = service.list_case_files(
        session,
        principal,
        start=period.start,
        end=period.end,
        community=community,
        category=category,
        typical=typical,
        archived=archived,
        text=q,
        limit=limit,
        offset=offset,
        prefix=intake.id_prefix,
    )
    return CaseFileList(total=total, items=items)


@router.get("/{incident_id}", response_model=CaseFileRead, responses=errors(404))
def read_case_file(
    incident_id: str,
    session: ReadSessionDep,
    intake: IntakeDep,
    settings: SettingsDep,
    now: NowDep,
    principal: Annotated[Principal, _READER],
) -> CaseFileRead:
    """The case's whole file: the incident and its photos, the timeline, the clocks and
    outcome, the documents, archive and typical-case marks."""
    incident = service.filed_incident(session, principal, incident_id, prefix=intake.id_prefix)
    return _read(session, principal, incident, intake=intake, settings=settings, now=now)


@router.post(
    "/{incident_id}/documents",
    status_code=201,
    response_model=CaseFileRead,
    responses=errors(404, 409),
)
def add_document(
    incident_id: str,
    body: DocumentIn,
    session: SessionDep,
    intake: IntakeDep,
    settings: SettingsDep,
    now: NowDep,
    principal: Annotated[Principal, _WRITER],
) -> CaseFileRead:
    """Add a document (notice, record, evidence, decision, receipt, photo) to the file."""
    incident = service.filed_incident(session, principal, incident_id, prefix=intake.id_prefix)
    service.add_document(session, principal, incident, body, now=now)
    return _read(session, principal, incident, intake=intake, settings=settings, now=now)


@router.post("/{incident_id}/archive", response_model=CaseFileRead, responses=errors(404, 409))
def archive_case_file(
    incident_id: str,
    body: ArchiveIn,
    session: SessionDep,
    intake: IntakeDep,
    settings: SettingsDep,
    now: NowDep,
    principal: Annotated[Principal, _WRITER],
) -> CaseFileRead:
    """Archive the file of a closed case (归档)."""
    incident = service.filed_incident(session, principal, incident_id, prefix=intake.id_prefix)
    service.archive(session, principal, incident, note=body.note, now=now)
    return _read(session, principal, incident, intake=intake, settings=settings, now=now)


@router.put("/{incident_id}/typical", response_model=CaseFileRead, responses=errors(404))
def mark_typical(
    incident_id: str,
    body: TypicalIn,
    session: SessionDep,
    intake: IntakeDep,
    settings: SettingsDep,
    now: NowDep,
    principal: Annotated[Principal, _WRITER],
) -> CaseFileRead:
    """Mark the case typical (典型案例) with a summary for reporting upward."""
    incident = service.filed_incident(session, principal, incident_id, prefix=intake.id_prefix)
    service.mark_typical(session, principal, incident, summary=body.summary, now=now)
    return _read(session, principal, incident, intake=intake, settings=settings, now=now)


@router.delete("/{incident_id}/typical", response_model=CaseFileRead, responses=errors(404, 409))
def unmark_typical(
    incident_id: str,
    session: SessionDep,
    intake: IntakeDep,
    settings: SettingsDep,
    now: NowDep,
    principal: Annotated[Principal, _WRITER],
) -> CaseFileRead:
    """Take the typical-case mark off."""
    incident = service.filed_incident(session, principal, incident_id, prefix=intake.id_prefix)
    service.unmark_typical(session, principal, incident, now=now)
    return _read(session, principal, incident, intake=intake, settings=settings, now=now)
