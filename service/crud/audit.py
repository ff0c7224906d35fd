"""The audit log: one row per write, in the same transaction as the write."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..models import AuditLog

__all__ = ["record"]


def record(session: Session, *, actor: str, action: str, entity: str,
           entity_id: str | int | None = None, detail: dict[str, Any] | None = None) -> AuditLog:
    """Add an audit row for a write made in ``session`` (committed with it, or not at all)."""
    row = AuditLog(actor=actor, action=action, entity=entity,
                   entity_id=None if entity_id is None else str(entity_id),
                   detail=detail or {})
    session.add(row)
    return row
