"""An incident's timeline (every step, oldest first) and its clocks: the time limit, the due
time in working hours and the urgent-case delays against the 15-minute rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.calendar import WorkingCalendar
from ..core.timezones import BEIJING
from ..incidents.service import Incident, get_category
from . import lifecycle
from .models import IncidentEvent

__all__ = ["add_event", "clocks", "iso", "timeline"]

_REPORT_RULE_S: Final = 15 * 60.0  # big cases reported within 15 minutes of the event


def iso(value: datetime | None) -> str | None:
    """``value`` in Beijing time as ISO 8601, or None."""
    return None if value is None else value.astimezone(BEIJING).isoformat()


def add_event(
    session: Session,
    incident: Incident,
    step: str,
    *,
    actor: str,
    at: datetime,
    status: str | None = None,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> IncidentEvent:
    """Append one step to the incident's timeline (the caller owns the transaction)."""
    event = IncidentEvent(
        incident_id=incident.id,
        step=step,
        status=status,
        at=at,
        actor=actor,
        note=note,
        detail=detail or {},
    )
    session.add(event)
    return event


def timeline(session: Session, incident: Incident) -> list[dict[str, Any]]:
    """Every step of the incident, oldest first, starting with the report itself."""
    events = [
        {
            "step": "reported",
            "status": "reported",
            "at": iso(incident.reported_at),
            "actor": incident.created_by,
            "note": None,
            "detail": {
                "occurred_at": iso(incident.occurred_at),
                "received_at": iso(incident.received_at),
            },
        }
    ]
    for e in session.scalars(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident.id)
        .order_by(IncidentEvent.at, IncidentEvent.id)
    ):
        events.append(
            {
                "step": e.step,
                "status": e.status,
                "at": iso(e.at),
                "actor": e.actor,
                "note": e.note,
                "detail": dict(e.detail),
            }
        )
    return events


# -- clocks ---------------------------------------------------------------------------------


def clocks(
    session: Session,
    incident: Incident,
    *,
    calendar: WorkingCalendar,
    now: datetime,
    dispatch_limit_s: float,
    arrival_limit_s: float,
) -> dict[str, Any]:
    """Time limit, due time, overdue and working hours left; the urgent-case delays.

    An urgent case is flagged late when its dispatch (from the report) or its arrival (from the
    dispatch) took, or has been waiting, longer than the limits; other cases are not flagged.
    """
    steps: dict[str, datetime] = {}
    for step, at in session.execute(
        select(IncidentEvent.step, IncidentEvent.at)
        .where(IncidentEvent.incident_id == incident.id)
        .order_by(IncidentEvent.at, IncidentEvent.id)
    ):
        steps.setdefault(step, at)  # the first time each step happened
    limit = get_category(incident.category).time_limit_hours
    accepted = steps.get("accepted")
    start = accepted or incident.reported_at
    due = calendar.add_working_hours(start, limit)
    closed = lifecycle.canonical(incident.status) in lifecycle.FINAL
    closed_at = None
    if closed:
        closed_at = max(
            (
                at
                for step, at in steps.items()
                if step in ("verified_closed", "rejected", "duplicate")
            ),
            default=incident.updated_at,
        )
    end = closed_at or now
    report_delay = (incident.reported_at - incident.occurred_at).total_seconds()
    dispatched = steps.get("dispatched")
    on_scene = steps.get("on_scene")
    # Waiting counts too: an urgent case not yet dispatched after the limit is already late.
    dispatch_s = (
        None
        if closed and dispatched is None
        else ((dispatched or now) - incident.reported_at).total_seconds()
    )
    arrival_s = (
        None
        if dispatched is None or (closed and on_scene is None)
        else ((on_scene or now) - dispatched).total_seconds()
    )
    return {
        "time_limit_hours": limit,
        "clock_starts": "accepted" if accepted else "reported",
        "started_at": iso(start),
        "due_at": iso(due),
        "closed_at": iso(closed_at),
        "overdue": end > due,
        "remaining_working_hours": None
        if closed
        else round(calendar.working_hours_between(now, due), 2),
        "working_hours_used": round(calendar.working_hours_between(start, end), 2),
        "calendar": {
            "start": calendar.start.isoformat("minutes"),
            "end": calendar.end.isoformat("minutes"),
        },
        "urgent": incident.urgent,
        "report_delay_s": round(report_delay, 1),
        "report_within_15_min": report_delay <= _REPORT_RULE_S,
        "dispatch_delay_s": None
        if dispatched is None
        else round((dispatched - incident.reported_at).total_seconds(), 1),
        "arrival_delay_s": None
        if dispatched is None or on_scene is None
        else round((on_scene - dispatched).total_seconds(), 1),
        "waiting_for_dispatch_s": None
        if dispatched is not None or closed
        else round((now - incident.reported_at).total_seconds(), 1),
        "dispatch_limit_s": dispatch_limit_s,
        "arrival_limit_s": arrival_limit_s,
        "dispatch_late": incident.urgent
        and dispatch_s is not None
        and dispatch_s > dispatch_limit_s,
        "arrival_late": incident.urgent and arrival_s is not None and arrival_s > arrival_limit_s,
    }
