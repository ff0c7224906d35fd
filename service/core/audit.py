"""The audit log: one row per write, in the same transaction (unit of work) as the write.

Append-only: migration 0004 installs triggers on both databases that refuse UPDATE and DELETE
on ``audit_log``, so not even a bug in jiedao can rewrite history. Who made a write comes from
the caller (``actor``); the role and the address come from the request the unit of work serves
(:data:`CONTEXT_KEY` in ``session.info``, set by :func:`service.core.deps.get_db`), so no
service needs to thread them through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from .models import Base, utcnow

__all__ = ["CONTEXT_KEY", "AuditContext", "AuditLog", "audit_as", "record"]

CONTEXT_KEY: Final = "audit_context"


@dataclass
class AuditContext:
    """Where the writes of one unit of work come from: the client's address and, once the
    request is authenticated, the signed-in role."""

    address: str | None = None
    role: str | None = None


class AuditLog(Base):
    """One row per write: who did what to which entity, from where, before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity", "entity_id"),
        Index("ix_audit_log_action_at", "action", "at"),
        Index("ix_audit_log_actor_at", "actor", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(30))
    address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


def audit_as(session: Session, role: str) -> None:
    """Record ``role`` as the role of the writes ``session`` makes from now on (once the
    request's principal is known)."""
    context = session.info.get(CONTEXT_KEY)
    if context is not None:
        context.role = role


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditLog:
    """Add an audit row for a write made in ``session`` (committed with it, or not at all).

    Parameters
    ----------
    session
        The unit of work the write belongs to.
    actor
        Who made the write (a username, ``device:<unit>``, ``open311:<client>``, ``system:...``).
    action, entity, entity_id
        What was done, to which kind of thing, and to which one.
    before, after
        The entity's values before and after the write (JSON); None for a creation's before
        or a deletion's after.
    detail
        Anything else worth keeping (JSON).
    at
        When; default now.

    Returns
    -------
    AuditLog
        The row added (flushed with the session).
    """
    context = session.info.get(CONTEXT_KEY)
    row = AuditLog(
        actor=actor,
        role=getattr(context, "role", None),
        address=getattr(context, "address", None),
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=before,
        after=after,
        detail=detail or {},
    )
    if at is not None:
        row.at = at
    session.add(row)
    return row
