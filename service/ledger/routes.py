"""The rewards and penalties ledger: monthly statements and their lines (JSON, CSV, XLSX),
spot-check findings, disputes of missed items, one-off awards and their approval."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from ..auth.service import Principal, require
from ..core.config import Settings
from ..core.deps import NowDep, ReadSessionDep, SessionDep, SettingsDep
from ..core.errors import ERROR_RESPONSES, errors
from ..core.spreadsheet import (
    FILE_RESPONSES,
    TableFormat,
    csv_response,
    json_rows,
    xlsx_response,
)
from ..core.timezones import BEIJING
from ..incidents.service import IntakeDep, get_incident, public_id
from ..layers.service import ActiveLayer, LayerDep
from . import decisions, service, store
from .models import LedgerAward, LedgerDispute
from .schemas import (
    AwardDecision,
    AwardIn,
    AwardRead,
    DisputeIn,
    DisputeRead,
    DisputeResolution,
    FindingIn,
    FindingRead,
    LedgerLine,
    LedgerRead,
)

__all__ = ["router"]

router = APIRouter(prefix="/ledger", tags=["ledger"], responses=ERROR_RESPONSES)
MonthQuery = Annotated[
    str | None,
    Query(pattern=r"^20\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM (default: this month)."),
]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _as(permission: str) -> Any:
    return Depends(require(permission))


def _month(month: str | None, now: datetime) -> str:
    return month or now.astimezone(BEIJING).strftime("%Y-%m")


def _lines(
    session: Session,
    principal: Principal,
    month: str,
    layer: ActiveLayer,
    settings: Settings,
    prefix: str,
) -> pd.DataFrame:
    return service.month_lines(
        session,
        principal,
        month=month,
        names=layer.community_names,
        params=service.params_of(settings),
        prefix=prefix,
    )


@router.get("/statements", response_model=LedgerRead, responses={**errors(422), **FILE_RESPONSES})
def statements(
    session: ReadSessionDep,
    layer: LayerDep,
    settings: SettingsDep,
    intake: IntakeDep,
    now: NowDep,
    principal: Annotated[Principal, _as("ledger:read")],
    month: MonthQuery = None,
    format: Annotated[
        TableFormat, Query(description="json, csv (people) or xlsx (people, communities, lines).")
    ] = "json",
) -> Any:
    """The month's statements per person and per community: valid items +2, wrong -10, missed
    -5, awards; an officer sees their own, a group head their community's."""
    wanted = _month(month, now)
    lines = _lines(session, principal, wanted, layer, settings, intake.id_prefix)
    people, communities = service.statements(lines)
    name = f"ledger-{wanted}"
    if format == "csv":
        return csv_response(people, filename=f"{name}.csv")
    if format == "xlsx":
        return xlsx_response(
            {"people": people, "communities": communities, "lines": lines},
            filename=f"{name}.xlsx",
        )
    params = service.params_of(settings)
    return LedgerRead(
        month=wanted,
        rules={
            "valid": f"+{params.valid_yuan} yuan per item of an approved report",
            "wrong": f"{params.wrong_yuan} yuan per item rejected on verification or found "
            "wrong on a spot check",
            "missed": f"{params.missed_yuan} yuan per incident from another source in the "
            f"community during duty hours ({params.duty_start:%H:%M}-{params.duty_end:%H:%M}) "
            f"with no item of the same category within {params.match_m:g} m and "
            f"{params.match_hours:g} h; 0 once a dispute is upheld",
            "award": "one-off awards approved by a leader",
        },
        people=json_rows(people),
        communities=json_rows(communities),
    )


@router.get("/lines", response_model=list[LedgerLine], responses={**errors(422), **FILE_RESPONSES})
def lines(
    session: ReadSessionDep,
    layer: LayerDep,
    settings: SettingsDep,
    intake: IntakeDep,
    now: NowDep,
    principal: Annotated[Principal, _as("ledger:read")],
    month: MonthQuery = None,
    person: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(pattern="^(valid|wrong|duplicate|missed|award)$")] = None,
    format: Annotated[TableFormat, Query()] = "json",
) -> Any:
    """Every amount of the month with the item, incident or award behind it."""
    wanted = _month(month, now)
    table = _lines(session, principal, wanted, layer, settings, intake.id_prefix)
    if person is not None:
        table = table[table["person"] == person]
    if kind is not None:
        table = table[table["kind"] == kind]
    name = f"ledger-lines-{wanted}"
    if format == "csv":
        return csv_response(table, filename=f"{name}.csv")
    if format == "xlsx":
        return xlsx_response({"lines": table}, filename=f"{name}.xlsx")
    return json_rows(table)


@router.post("/findings", status_code=201, response_model=FindingRead, responses=errors(404, 409))
def add_finding(
    body: FindingIn,
    session: SessionDep,
    now: NowDep,
    principal: Annotated[Principal, _as("ledger:review")],
) -> FindingRead:
    """Record that a spot check found an item wrong (-10 yuan for its filer)."""
    row = decisions.record_finding(session, principal, body, now=now)
    return FindingRead(
        id=row.id, item=row.item_id, note=row.note, found_by=row.found_by, found_at=row.found_at
    )


def _dispute_read(row: LedgerDispute, prefix: str, session: Session) -> DisputeRead:
    incident = get_incident(session=session, incident_id=row.incident_id, prefix=prefix)
    return DisputeRead(
        id=row.id,
        incident=public_id(incident, prefix=prefix),
        person=row.person,
        month=row.month,
        reason=row.reason,
        filed_at=row.filed_at,
        status=row.status,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        resolution_note=row.resolution_note,
    )


@router.post("/disputes", status_code=201, response_model=DisputeRead, responses=errors(404, 409))
def add_dispute(
    body: DisputeIn,
    session: SessionDep,
    layer: LayerDep,
    settings: SettingsDep,
    intake: IntakeDep,
    now: NowDep,
    principal: Annotated[Principal, _as("ledger:dispute")],
) -> DisputeRead:
    """Dispute an item the ledger counts as missed by you."""
    row = decisions.file_dispute(
        session,
        principal,
        body,
        names=layer.community_names,
        params=service.params_of(settings),
        prefix=intake.id_prefix,
        now=now,
    )
    return _dispute_read(row, intake.id_prefix, session)


@router.get("/disputes", response_model=list[DisputeRead])
def list_disputes(
    session: ReadSessionDep,
    intake: IntakeDep,
    now: NowDep,
    principal: Annotated[Principal, _as("ledger:read")],
    month: MonthQuery = None,
) -> list[DisputeRead]:
    """The month's disputes (an officer's own)."""
    rows = store.disputes_of(session, _month(month, now))
    if principal.role == "info_officer":
        rows = [r for r in rows if r.person == principal.name]
    return [_dispute_read(r, intake.id_prefix, session) for r in rows]


@router.post(
    "/disputes/{dispute_id}/resolve", response_model=DisputeRead, responses=errors(404, 409)
)
def resolve_dispute(
    dispute_id: RowId,
    body: DisputeResolution,
    session: SessionDep,
    intake: IntakeDep,
    now: NowDep,
    principal: Annotated[Principal, _as("ledger:review")],
) -> DisputeRead:
    """Uphold a dispute (the miss counts 0) or reject it."""
    row = decisions.resolve_dispute(session, principal, dispute_id, body, now=now)
    return _dispute_read(row, intake.id_prefix, session)


def _award_read(row: LedgerAward) -> AwardRead:
    return AwardRead.model_validate(row, from_attributes=True)


@router.post("/awards", status_code=201, response_model=AwardRead, responses=errors(422))
def propose_award(
    body: AwardIn,
    session: SessionDep,
    now: NowDep,
    principal: Annotated[Principal, _as("ledger:review")],
) -> AwardRead:
    """Propose a one-off award (tip 100-300 yuan, major information, a year without a major
    case); it counts once a leader approves it."""
    return _award_read(decisions.propose_award(session, principal, body, now=now))


@router.get("/awards", response_model=list[AwardRead])
def list_awards(
    session: ReadSessionDep,
    now: NowDep,
    principal: Annotated[Principal, _as("ledger:read")],
    month: MonthQuery = None,
) -> list[AwardRead]:
    """The month's awards, proposed, approved or refused (an officer's own)."""
    rows = store.awards_of(session, _month(month, now))
    if principal.role == "info_officer":
        rows = [r for r in rows if r.person == principal.name]
    elif principal.community is not None:
        rows = [r for r in rows if r.community == principal.community]
    return [_award_read(r) for r in rows]


@router.post("/awards/{award_id}/decide", response_model=AwardRead, responses=errors(404, 409))
def decide_award(
    award_id: RowId,
    body: AwardDecision,
    session: SessionDep,
    now: NowDep,
    principal: Annotated[Principal, _as("ledger:approve")],
) -> AwardRead:
    """Approve or refuse a proposed award (a leader who did not propose it)."""
    return _award_read(decisions.decide_award(session, principal, award_id, body, now=now))
