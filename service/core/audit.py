"""The audit log: one row per write, in the same transaction (unit of work) as the write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from .models import Base, utcnow

__all__ = ["AuditLog", "record"]


class AuditLog(Base):
    """One row per write: who did what to which entity."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str | None] = mapped_column(String(50))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit row for a write made in ``session`` (committed with it, or not at all).

    Parameters
    ----------
    session
        The unit of work the write belongs to.
    actor
        Who made the write.
    action, entity, entity_id
        What was done, to which kind of thing, and to which one.
    detail
        Anything else worth keeping (JSON).

    Returns
    -------
    AuditLog
        The row added (flushed with the session).
    """
    row = AuditLog(
        actor=actor,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        detail=detail or {},
    )
    session.add(row)
    return row
