"""The case queries other domains count from: each case's first time of each step, and the
filed cases (立案) of a period, read in one query each rather than one per case."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ..incidents.service import Incident, in_scope
from .models import Assignment, IncidentEvent, Unit

__all__ = ["FILING_STEPS", "first_steps", "handling_units", "is_filed", "reported_between"]

FILING_STEPS: Final = ("accepted", "dispatched")  # 立案: accepted, or sent a unit at once


def reported_between(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    community: str | None = None,
    squad: str | None = None,
    category: str | None = None,
    filed_only: bool = False,
) -> Sequence[Incident]:
    """Incidents reported in [since, until), oldest first; ``filed_only`` keeps the valid
    filed cases (not rejected or duplicate)."""
    query = in_scope(
        select(Incident).where(Incident.reported_at >= since, Incident.reported_at < until),
        community=community,
        squad=squad,
    )
    if category is not None:
        query = query.where(Incident.category == category)
    if filed_only:
        query = query.where(
            Incident.status.not_in(("rejected", "duplicate")),
            exists().where(
                IncidentEvent.incident_id == Incident.id, IncidentEvent.step.in_(FILING_STEPS)
            ),
        )
    return session.scalars(query.order_by(Incident.reported_at, Incident.id)).all()


def first_steps(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    community: str | None = None,
    squad: str | None = None,
) -> dict[int, dict[str, datetime]]:
    """For each incident reported in [since, until), the first time of each of its steps."""
    query = (
        select(IncidentEvent.incident_id, IncidentEvent.step, func.min(IncidentEvent.at))
        .join(Incident, Incident.id == IncidentEvent.incident_id)
        .where(Incident.reported_at >= since, Incident.reported_at < until)
        .group_by(IncidentEvent.incident_id, IncidentEvent.step)
    )
    steps: dict[int, dict[str, datetime]] = defaultdict(dict)
    for incident_id, step, at in session.execute(in_scope(query, community=community, squad=squad)):
        steps[incident_id][step] = at
    return dict(steps)


def is_filed(session: Session, incident_id: int) -> bool:
    """Whether the incident was ever filed (立案)."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    IncidentEvent.incident_id == incident_id,
                    IncidentEvent.step.in_(FILING_STEPS),
                )
            )
        )
    )


def handling_units(session: Session, *, since: datetime, until: datetime) -> dict[int, str]:
    """For each incident reported in [since, until) that a unit was sent to, the unit that
    had it last (active, or completed when the case closed), by incident id."""
    query = (
        select(Assignment.incident_id, Unit.code)
        .join(Unit, Unit.id == Assignment.unit_id)
        .join(Incident, Incident.id == Assignment.incident_id)
        .where(
            Incident.reported_at >= since,
            Incident.reported_at < until,
            Assignment.status.in_(("active", "completed")),
        )
        .order_by(Assignment.assigned_at, Assignment.id)
    )
    return {row.incident_id: row.code for row in session.execute(query)}
