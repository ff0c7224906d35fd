"""Case files: the filed case as the case team keeps it. A file is written the first time
the team adds to it; each write is audited and belongs to the signed-in member.

Only a filed case (立案: accepted, or sent a unit) has a file; a case is archived (归档) once
it is closed, and an archived file takes no new documents. A typical case (典型案例) carries a
short summary for reporting upward; marking and unmarking are both recorded.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..auth import service as auth_service
from ..auth.service import Principal
from ..core.audit import record
from ..core.calendar import WorkingCalendar
from ..core.errors import ConflictError, NotFoundError
from ..core.period import period_bounds
from ..dispatch import service as dispatch_service
from ..dispatch.service import lifecycle
from ..incidents import service as incidents_service
from ..incidents.service import Incident, public_id
from . import store
from .models import CaseDocument, CaseFile
from .schemas import (
    CaseEvent,
    CaseFileRead,
    CaseFileSummary,
    CaseIncident,
    DocumentIn,
    DocumentRead,
)

__all__ = [
    "add_document",
    "archive",
    "case_file_read",
    "filed_incident",
    "list_case_files",
    "mark_typical",
    "unmark_typical",
]


def filed_incident(
    session: Session, principal: Principal, incident_id: str, *, prefix: str
) -> Incident:
    """The incident if it is a filed case the principal may see; 404 saying why otherwise."""
    incident = incidents_service.get_visible_incident(
        session, principal, incident_id, prefix=prefix
    )
    status = lifecycle.canonical(incident.status)
    if status in ("rejected", "duplicate") or not dispatch_service.is_filed(session, incident.id):
        raise NotFoundError(
            "incident_id",
            f"{public_id(incident, prefix=prefix)} is {status}, not a filed case (立案), so it "
            "has no case file.",
            "accept the case first (POST /incidents/{id}/events with step accepted).",
        )
    return incident


def _file_for(session: Session, incident: Incident, *, actor: str, now: datetime) -> CaseFile:
    """The incident's file, locked, created on the first write (one winner if two race)."""
    found = store.file_of(session, incident.id, lock=True)
    if found is not None:
        return found
    try:
        with session.begin_nested():
            session.add(
                CaseFile(incident_id=incident.id, created_by=actor, created_at=now, updated_at=now)
            )
    except IntegrityError:
        pass  # another member wrote the first line at the same moment: use theirs
    made = store.file_of(session, incident.id, lock=True)
    assert made is not None
    return made


def _audit(
    session: Session,
    principal: Principal,
    case_file: CaseFile,
    action: str,
    *,
    now: datetime,
    after: dict[str, Any],
    detail: dict[str, Any] | None = None,
) -> None:
    case_file.updated_at = now
    record(
        session,
        actor=principal.name,
        action=action,
        entity="case_file",
        entity_id=case_file.incident_id,
        after=after,
        detail=detail,
        at=now,
    )


def add_document(
    session: Session,
    principal: Principal,
    incident: Incident,
    document: DocumentIn,
    *,
    now: datetime,
) -> CaseFile:
    """Add a document to the case's file (refused once archived)."""
    case_file = _file_for(session, incident, actor=principal.name, now=now)
    if case_file.archived_at is not None:
        raise ConflictError(
            "incident_id",
            f"The file of case {incident.id} was archived on {case_file.archived_at:%Y-%m-%d} by "
            f"{case_file.archived_by}; it takes no new documents.",
            "a document found later goes to a new case, or ask a leader to reopen the case.",
        )
    row = CaseDocument(
        kind=document.kind,
        title=document.title,
        url=str(document.url),
        added_at=now,
        added_by=principal.name,
    )
    case_file.documents.append(row)
    session.flush()
    _audit(
        session,
        principal,
        case_file,
        "case_document_add",
        now=now,
        after={"document": row.id, "kind": row.kind, "title": row.title, "url": row.url},
    )
    return case_file


def archive(
    session: Session, principal: Principal, incident: Incident, *, note: str, now: datetime
) -> CaseFile:
    """Archive the file of a closed case (归档)."""
    status = lifecycle.canonical(incident.status)
    if status not in lifecycle.FINAL:
        raise ConflictError(
            "incident_id",
            f"Case {incident.id} is {status}; only a closed case is archived.",
            "verify and close it first (核查结案), or park it (挂账) if it cannot be closed.",
        )
    case_file = _file_for(session, incident, actor=principal.name, now=now)
    if case_file.archived_at is not None:
        raise ConflictError(
            "incident_id",
            f"The file of case {incident.id} is already archived "
            f"({case_file.archived_at:%Y-%m-%d}, {case_file.archived_by}).",
            "nothing to do.",
        )
    case_file.archived_at = now
    case_file.archived_by = principal.name
    case_file.archive_note = note or None
    _audit(session, principal, case_file, "case_file_archive", now=now, after={"note": note})
    return case_file


def mark_typical(
    session: Session, principal: Principal, incident: Incident, *, summary: str, now: datetime
) -> CaseFile:
    """Mark the case typical (典型案例) with its summary, or replace the summary."""
    case_file = _file_for(session, incident, actor=principal.name, now=now)
    before = case_file.typical_summary if case_file.typical else None
    case_file.typical = True
    case_file.typical_summary = summary
    case_file.typical_marked_by = principal.name
    case_file.typical_marked_at = now
    _audit(
        session,
        principal,
        case_file,
        "case_typical_mark",
        now=now,
        after={"summary": summary},
        detail={"before": before},
    )
    return case_file


def unmark_typical(
    session: Session, principal: Principal, incident: Incident, *, now: datetime
) -> CaseFile:
    """Take the typical mark off (the summary stays in the audit log)."""
    case_file = _file_for(session, incident, actor=principal.name, now=now)
    if not case_file.typical:
        raise ConflictError(
            "incident_id", f"Case {incident.id} is not marked typical.", "nothing to do."
        )
    before = case_file.typical_summary
    case_file.typical = False
    case_file.typical_summary = None
    _audit(
        session,
        principal,
        case_file,
        "case_typical_unmark",
        now=now,
        after={"typical": False},
        detail={"before": before},
    )
    return case_file


# -- reads ------------------------------------------------------------------------------------


def case_file_read(
    session: Session,
    principal: Principal,
    incident: Incident,
    *,
    prefix: str,
    calendar: WorkingCalendar,
    now: datetime,
    dispatch_limit_s: float,
    arrival_limit_s: float,
) -> CaseFileRead:
    """The whole file of a filed case."""
    case_file = store.file_of(session, incident.id)
    read = CaseIncident(
        id=public_id(incident, prefix=prefix),
        number=incident.id,
        category=incident.category,
        category_name=incidents_service.get_category(incident.category).name_zh,
        description=incident.description,
        photo_urls=list(incident.photo_urls),
        address=incident.address,
        location={"lon": incident.lon, "lat": incident.lat},
        community_code=incident.community_code,
        community_name=incident.community_name,
        squad=incident.squad,
        source=incident.source,
        reporter=incident.reporter if auth_service.can_read_reporter(principal) else None,
        urgent=incident.urgent,
        occurred_at=incident.occurred_at,
        reported_at=incident.reported_at,
    )
    documents = [] if case_file is None else case_file.documents
    return CaseFileRead(
        incident=read,
        outcome=lifecycle.canonical(incident.status),
        clocks=dispatch_service.clocks(
            session,
            incident,
            calendar=calendar,
            now=now,
            dispatch_limit_s=dispatch_limit_s,
            arrival_limit_s=arrival_limit_s,
        ),
        timeline=[CaseEvent(**event) for event in dispatch_service.timeline(session, incident)],
        documents=[
            DocumentRead(
                id=d.id,
                kind=d.kind,
                title=d.title,
                url=d.url,
                added_at=d.added_at,
                added_by=d.added_by,
            )
            for d in documents
        ],
        archived=case_file is not None and case_file.archived_at is not None,
        archived_at=None if case_file is None else case_file.archived_at,
        archived_by=None if case_file is None else case_file.archived_by,
        archive_note=None if case_file is None else case_file.archive_note,
        typical=case_file is not None and case_file.typical,
        typical_summary=None if case_file is None else case_file.typical_summary,
        typical_marked_by=None if case_file is None else case_file.typical_marked_by,
        typical_marked_at=None if case_file is None else case_file.typical_marked_at,
    )


def list_case_files(
    session: Session,
    principal: Principal,
    *,
    start: date,
    end: date,
    community: str | None,
    category: str | None,
    typical: bool | None,
    archived: bool | None,
    text: str | None,
    limit: int,
    offset: int,
    prefix: str,
) -> tuple[list[CaseFileSummary], int]:
    """Filed cases reported in the period, newest first, within the reader's scope."""
    scope = auth_service.incident_scope(principal)
    if scope.community is not None and community not in (None, scope.community):
        return [], 0  # another community's cases read as none, as incidents do
    since, until = period_bounds(start, end)
    cases = dispatch_service.reported_between(
        session,
        since=since,
        until=until,
        community=scope.community or community,
        squad=scope.squad,
        category=category,
        filed_only=True,
    )
    files = store.files_of(session, [incident.id for incident in cases])
    needle = text.casefold() if text else None
    rows = []
    for incident in reversed(cases):  # newest first
        case_file = files.get(incident.id)
        is_typical = case_file is not None and case_file.typical
        is_archived = case_file is not None and case_file.archived_at is not None
        if (typical is not None and is_typical != typical) or (
            archived is not None and is_archived != archived
        ):
            continue
        if needle is not None:
            haystack = " ".join(
                [
                    incident.description,
                    incident.address or "",
                    (case_file.typical_summary or "") if case_file else "",
                ]
            )
            if needle not in haystack.casefold():
                continue
        rows.append((incident, case_file))
    total = len(rows)
    rows = rows[offset : offset + limit]
    return [
        CaseFileSummary(
            id=public_id(incident, prefix=prefix),
            number=incident.id,
            category=incident.category,
            category_name=incidents_service.get_category(incident.category).name_zh,
            community_code=incident.community_code,
            community_name=incident.community_name,
            squad=incident.squad,
            source=incident.source,
            reported_at=incident.reported_at,
            outcome=lifecycle.canonical(incident.status),
            documents=0 if case_file is None else len(case_file.documents),
            archived=case_file is not None and case_file.archived_at is not None,
            typical=case_file is not None and case_file.typical,
            typical_summary=None if case_file is None else case_file.typical_summary,
        )
        for incident, case_file in rows
    ], total
