"""Queries of the daily reports. Never commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .models import DailyReport

__all__ = ["report_of", "reports_between"]


def report_of(
    session: Session, community: str, day: str, *, lock: bool = False
) -> DailyReport | None:
    """The community's report of ``day`` (YYYY-MM-DD) with its items, or None."""
    query = (
        select(DailyReport)
        .where(DailyReport.community == community, DailyReport.report_date == day)
        .options(selectinload(DailyReport.items))
    )
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def reports_between(
    session: Session, first: str, last: str, *, communities: Sequence[str] | None = None
) -> Sequence[DailyReport]:
    """The reports of the days ``first``..``last`` (included), with their items."""
    query = (
        select(DailyReport)
        .where(DailyReport.report_date >= first, DailyReport.report_date <= last)
        .options(selectinload(DailyReport.items))
        .order_by(DailyReport.report_date, DailyReport.community)
    )
    if communities is not None:
        query = query.where(DailyReport.community.in_(list(communities)))
    return session.scalars(query).all()
