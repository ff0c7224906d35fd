"""What the ledger stores beyond what it counts: spot-check findings, disputes of missed items,
and one-off awards with their approval. The monthly amounts are computed from the reports and
incidents each time, so they always follow the items behind them."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import Base, utcnow

__all__ = ["AWARD_KINDS", "LedgerAward", "LedgerDispute", "LedgerFinding"]

AWARD_KINDS: Final = (
    "tip",  # 有价值线索 100-300 元
    "major_information",  # 重大信息奖励
    "no_major_case",  # 全年无重大案件奖励
    "other",
)


class LedgerFinding(Base):
    """A report item found wrong on a spot check (抽查): -10 yuan for its filer."""

    __tablename__ = "ledger_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("daily_report_items.id"), unique=True)
    note: Mapped[str] = mapped_column(Text)
    found_by: Mapped[str] = mapped_column(String(200))
    found_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerDispute(Base):
    """An officer's dispute of an item the system counts as missed, and its resolution."""

    __tablename__ = "ledger_disputes"
    __table_args__ = (UniqueConstraint("incident_id", "person", name="uq_ledger_disputes_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    person: Mapped[str] = mapped_column(String(200))
    month: Mapped[str] = mapped_column(String(7), index=True)
    reason: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open, upheld, rejected
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None]
    resolution_note: Mapped[str | None] = mapped_column(Text)


class LedgerAward(Base):
    """A one-off award the office grants, proposed by the case team and approved by a leader."""

    __tablename__ = "ledger_awards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person: Mapped[str] = mapped_column(String(200))
    community: Mapped[str] = mapped_column(String(20))
    month: Mapped[str] = mapped_column(String(7), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    proposed_by: Mapped[str] = mapped_column(String(200))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="proposed")  # approved, refused
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
