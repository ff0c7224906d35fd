"""The ledger's decisions, each audited and owned by the signed-in person: a spot check that
finds an item wrong, an officer's dispute of a missed item and its resolution, and one-off
awards proposed by the case team and approved (or refused) by a leader."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..auth import service as auth_service
from ..auth.service import Principal
from ..core.audit import record
from ..core.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from ..incidents import service as incidents_service
from ..reports import service as reports_service
from .models import LedgerAward, LedgerDispute, LedgerFinding
from .schemas import AwardDecision, AwardIn, DisputeIn, DisputeResolution, FindingIn
from .service import LedgerParams, month_lines

__all__ = ["decide_award", "file_dispute", "propose_award", "record_finding", "resolve_dispute"]

_TIP_RANGE = (100, 300)  # 附件四: a valuable tip earns 100-300 yuan


def record_finding(
    session: Session, principal: Principal, finding: FindingIn, *, now: datetime
) -> LedgerFinding:
    """A spot check found an approved report's item wrong: -10 yuan for its filer."""
    item = reports_service.report_item(session, finding.item)
    if item is None or item.report.status != "approved":
        raise NotFoundError(
            "item",
            f"No item {finding.item} of an approved daily report.",
            "give the id of an item of an approved report (GET /reports/daily/...).",
        )
    row = LedgerFinding(item_id=item.id, note=finding.note, found_by=principal.name, found_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise ConflictError(
            "item", f"Item {finding.item} was already found wrong.", "nothing to do."
        ) from None
    record(
        session,
        actor=principal.name,
        action="ledger_finding",
        entity="daily_report_item",
        entity_id=item.id,
        after={"note": finding.note, "filed_by": item.report.filed_by},
        at=now,
    )
    return row


def file_dispute(
    session: Session,
    principal: Principal,
    dispute: DisputeIn,
    *,
    names: dict[str, str],
    params: LedgerParams,
    prefix: str,
    now: datetime,
) -> LedgerDispute:
    """The officer disputes an item the ledger counts as missed by them."""
    try:
        number = incidents_service.parse_public_id(dispute.incident, prefix=prefix).number
    except NotFoundError:
        number = None
    lines = month_lines(
        session, principal, month=dispute.month, names=names, params=params, prefix=prefix
    )
    missed = lines[(lines["kind"] == "missed") & (lines["person"] == principal.name)]
    numbers = {int(str(i).rsplit("-", 1)[-1]) for i in missed["incident"]}
    if number is None or number not in numbers:
        raise NotFoundError(
            "incident",
            f"{dispute.incident} is not an item missed by you in {dispute.month}.",
            "dispute a line of kind missed from GET /ledger/lines of that month.",
        )
    row = LedgerDispute(
        incident_id=number,
        person=principal.name,
        month=dispute.month,
        reason=dispute.reason,
        filed_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise ConflictError(
            "incident", f"You already disputed {dispute.incident}.", "wait for its resolution."
        ) from None
    record(
        session,
        actor=principal.name,
        action="ledger_dispute",
        entity="ledger_dispute",
        entity_id=row.id,
        after={"incident": dispute.incident, "reason": dispute.reason},
        at=now,
    )
    return row


def resolve_dispute(
    session: Session,
    principal: Principal,
    dispute_id: int,
    resolution: DisputeResolution,
    *,
    now: datetime,
) -> LedgerDispute:
    """The case team upholds the dispute (the miss counts 0) or rejects it (it counts)."""
    row = session.get(LedgerDispute, dispute_id, with_for_update=True)
    if row is None:
        raise NotFoundError("dispute_id", f"No dispute {dispute_id}.", "see GET /ledger/disputes.")
    if row.status != "open":
        raise ConflictError(
            "dispute_id",
            f"Dispute {dispute_id} was already {row.status} by {row.resolved_by}.",
            "nothing to do.",
        )
    row.status = "upheld" if resolution.upheld else "rejected"
    row.resolved_by = principal.name
    row.resolved_at = now
    row.resolution_note = resolution.note
    record(
        session,
        actor=principal.name,
        action="ledger_dispute_resolve",
        entity="ledger_dispute",
        entity_id=row.id,
        before={"status": "open"},
        after={"status": row.status, "note": resolution.note},
        at=now,
    )
    return row


def propose_award(
    session: Session, principal: Principal, award: AwardIn, *, now: datetime
) -> LedgerAward:
    """The case team proposes a one-off award for an officer; it counts once approved."""
    people = {p.username: p for p in auth_service.enabled_people(session)}
    person = people.get(award.person)
    if person is None or person.role not in ("info_officer", "group_head"):
        raise InvalidInputError(
            "person",
            f"{award.person} is not an enabled member of an information group.",
            "give the username of an information officer or group head.",
        )
    if award.kind == "tip" and not _TIP_RANGE[0] <= award.amount <= _TIP_RANGE[1]:
        raise InvalidInputError(
            "amount",
            f"A tip earns {_TIP_RANGE[0]}-{_TIP_RANGE[1]} yuan, not {award.amount}.",
            "give an amount in that range, or another kind (major_information, ...).",
        )
    row = LedgerAward(
        person=person.username,
        community=person.community or "",
        month=award.month,
        kind=award.kind,
        amount=award.amount,
        reason=award.reason,
        proposed_by=principal.name,
        proposed_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=principal.name,
        action="ledger_award_propose",
        entity="ledger_award",
        entity_id=row.id,
        after=award.model_dump(),
        at=now,
    )
    return row


def decide_award(
    session: Session,
    principal: Principal,
    award_id: int,
    decision: AwardDecision,
    *,
    now: datetime,
) -> LedgerAward:
    """A leader approves or refuses a proposed award (not their own proposal)."""
    row = session.get(LedgerAward, award_id, with_for_update=True)
    if row is None:
        raise NotFoundError("award_id", f"No award {award_id}.", "see GET /ledger/awards.")
    if row.status != "proposed":
        raise ConflictError(
            "award_id",
            f"Award {award_id} was already {row.status} by {row.decided_by}.",
            "nothing to do.",
        )
    if row.proposed_by == principal.name:
        raise PermissionDeniedError(
            "award_id",
            "Whoever proposed an award does not approve it.",
            "another leader decides it.",
            permission="ledger:approve",
        )
    row.status = "approved" if decision.approve else "refused"
    row.decided_by = principal.name
    row.decided_at = now
    row.decision_note = decision.note
    record(
        session,
        actor=principal.name,
        action="ledger_award_decide",
        entity="ledger_award",
        entity_id=row.id,
        before={"status": "proposed"},
        after={"status": row.status, "note": decision.note},
        at=now,
    )
    return row
