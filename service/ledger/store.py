"""Queries of the ledger's own rows. Never commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import LedgerAward, LedgerDispute, LedgerFinding

__all__ = ["awards_of", "disputes_of", "findings_for"]


def findings_for(session: Session, item_ids: Sequence[int]) -> dict[int, LedgerFinding]:
    """The spot-check findings of these report items, by item id."""
    found: dict[int, LedgerFinding] = {}
    ids = list(item_ids)
    for first in range(0, len(ids), 500):
        query = select(LedgerFinding).where(LedgerFinding.item_id.in_(ids[first : first + 500]))
        found.update({f.item_id: f for f in session.scalars(query)})
    return found


def disputes_of(session: Session, month: str) -> Sequence[LedgerDispute]:
    """The month's disputes, oldest first."""
    query = select(LedgerDispute).where(LedgerDispute.month == month).order_by(LedgerDispute.id)
    return session.scalars(query).all()


def awards_of(session: Session, month: str) -> Sequence[LedgerAward]:
    """The month's awards, oldest first."""
    query = select(LedgerAward).where(LedgerAward.month == month).order_by(LedgerAward.id)
    return session.scalars(query).all()
