"""Queries of the plans domain. Never commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import PatrolPlanRecord, PlanJob

__all__ = ["get", "get_job", "newest", "newest_for_shift"]


def get(session: Session, plan_id: int) -> PatrolPlanRecord | None:
    """The plan with id ``plan_id``."""
    return session.get(PatrolPlanRecord, plan_id)


def get_job(session: Session, job_id: int) -> PlanJob | None:
    """The plan job with id ``job_id``."""
    return session.get(PlanJob, job_id)


def newest(
    session: Session, *, squad: str | None, day: str | None, limit: int
) -> list[PatrolPlanRecord]:
    """Stored plans, newest first, of one squad and day (``YYYY-MM-DD``) when given."""
    query = select(PatrolPlanRecord).order_by(PatrolPlanRecord.id.desc()).limit(limit)
    if squad:
        query = query.where(PatrolPlanRecord.squad == squad)
    if day:
        query = query.where(PatrolPlanRecord.plan_date == day)
    return list(session.scalars(query))


def newest_for_shift(
    session: Session, *, squad: str, day: str, shift: str
) -> PatrolPlanRecord | None:
    """The newest plan of ``squad`` for ``day``'s ``shift``."""
    return session.scalar(
        select(PatrolPlanRecord)
        .where(
            PatrolPlanRecord.squad == squad,
            PatrolPlanRecord.plan_date == day,
            PatrolPlanRecord.shift == shift,
        )
        .order_by(PatrolPlanRecord.id.desc())
        .limit(1)
    )
