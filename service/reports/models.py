"""Daily information reports (每日信息报表) of the community information groups and their items.

One report per community and day: the information officer files it (its items, or nothing to
report), the group head approves it (then it counts as submitted) or returns it with a note.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.models import Base, utcnow

__all__ = ["DailyReport", "ReportItem"]


class DailyReport(Base):
    """A community's report of one day, through draft, submitted, approved (or returned)."""

    __tablename__ = "daily_reports"
    __table_args__ = (UniqueConstraint("community", "report_date", name="uq_daily_reports_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community: Mapped[str] = mapped_column(String(20))
    squad: Mapped[str] = mapped_column(String(20))
    report_date: Mapped[str] = mapped_column(String(10), index=True)  # YYYY-MM-DD, Beijing
    status: Mapped[str] = mapped_column(String(10), default="draft")
    nothing_to_report: Mapped[bool] = mapped_column(Boolean, default=False)
    filed_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column()
    approved_at: Mapped[datetime | None] = mapped_column()
    approved_by: Mapped[str | None] = mapped_column(String(200))
    returned_at: Mapped[datetime | None] = mapped_column()
    returned_by: Mapped[str | None] = mapped_column(String(200))
    return_note: Mapped[str | None] = mapped_column(String(1000))
    items: Mapped[list[ReportItem]] = relationship(
        back_populates="report", order_by="ReportItem.seq", cascade="all, delete-orphan"
    )


class ReportItem(Base):
    """One problem in a report: a category of the 21 (filed as an incident on approval, or
    linked to the incident filed at once) or a matter forwarded to a department."""

    __tablename__ = "daily_report_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("daily_reports.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(10))
    matter: Mapped[str | None] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(2000), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    discovered_at: Mapped[datetime] = mapped_column()
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    routed_to: Mapped[str | None] = mapped_column(String(40))
    report: Mapped[DailyReport] = relationship(back_populates="items")
