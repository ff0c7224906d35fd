"""Incidents: create (one or in bulk), read, filter, and suggest duplicates.

Other domains reach incidents only through this module. It answers the queries itself and
re-exports the rest: intake (:mod:`service.incidents.intake`: the creates, idempotency, possible
duplicates) and reads (:mod:`service.incidents.reads`: public ids, the API view of an incident).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

import pandas as pd
from fastapi import Depends
from sqlalchemy.orm import Session

from ..auth import service as auth_service
from ..auth.service import Principal
from ..core.deps import SettingsDep
from ..core.errors import NotFoundError
from . import store
from .categories import CATEGORIES, Category, get_category
from .intake import (
    IntakeParams,
    create_incident,
    create_incidents_bulk,
    find_duplicates,
    request_fingerprint,
)
from .models import CLOSED_STATUSES, OPEN_STATUSES, Incident
from .reads import incident_reads, parse_public_id, public_id
from .schemas import IncidentCreate, IncidentRead
from .store import IncidentFilter, PublicId, in_scope, list_incidents

__all__ = [
    "CATEGORIES",
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "Category",
    "Incident",
    "IncidentCreate",
    "IncidentFilter",
    "IncidentRead",
    "IntakeDep",
    "IntakeParams",
    "PublicId",
    "create_incident",
    "create_incidents_bulk",
    "find_duplicates",
    "get_category",
    "get_incident",
    "get_visible_incident",
    "in_scope",
    "incident_count",
    "incident_frame",
    "incident_reads",
    "list_incidents",
    "map_frame",
    "parse_public_id",
    "public_id",
    "request_fingerprint",
    "set_status",
    "stored_status",
]


# -- read -----------------------------------------------------------------------------------


def get_incident(*, session: Session, incident_id: str | int, prefix: str = "QSH") -> Incident:
    """One incident by public id or number; :class:`NotFoundError` names what to check.

    A public id must match the stored incident's year as well as its number.
    """
    wanted = (
        PublicId(incident_id)
        if isinstance(incident_id, int)
        else parse_public_id(incident_id, prefix=prefix)
    )
    incident = store.get(session, wanted.number)
    if incident is None or not wanted.matches(incident):
        raise _missing(incident_id)
    return incident


def _missing(incident_id: str | int) -> NotFoundError:
    return NotFoundError(
        "id",
        f"No incident {incident_id}.",
        "check the id (GET /incidents lists the stored ones).",
    )


def set_status(
    session: Session, incident: Incident, *, expected: str, status: str, at: datetime
) -> bool:
    """Move ``incident`` from ``expected`` to ``status`` unless another request changed it
    meanwhile (then False, and nothing is written)."""
    return store.set_status(session, incident, expected=expected, status=status, at=at)


def stored_status(session: Session, number: int) -> str | None:
    """The stored status of incident ``number`` (None when there is none)."""
    return store.status_of(session, number)


def incident_count(session: Session) -> int:
    """How many incidents the database holds (the CLI warns when it is none)."""
    return store.count(session)


# Not problems that happened (rejected) or already counted (duplicate).
LEFT_OUT_OF_ANALYSIS: Final = ("rejected", "duplicate")


def incident_frame(
    session: Session, *, since: datetime, until: datetime, community_codes: list[str] | None = None
) -> pd.DataFrame:
    """The incidents that occurred in [since, until), as the spatial core reads them.

    Rejected incidents and duplicates are left out (they are not problems that happened, or
    are counted once already); closed ones count, because the problem occurred.
    """
    rows = store.frame_rows(
        session,
        since=since,
        until=until,
        left_out=LEFT_OUT_OF_ANALYSIS,
        community_codes=community_codes,
    )
    frame = pd.DataFrame(
        rows,
        columns=[
            "lon",
            "lat",
            "category",
            "source",
            "occurred_at",
            "urgent",
            "community_code",
            "squad",
        ],
    )
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True).dt.tz_convert(
        "Asia/Shanghai"
    )
    return frame


_MAP_COLUMNS: Final = (
    "category",
    "lon",
    "lat",
    "occurred_at",
    "source",
    "urgent",
    "description",
    "community_code",
    "community_name",
    "squad",
    "key_road_id",
    "key_road_name",
    "status",
)


def map_frame(
    session: Session,
    *,
    since: datetime,
    community: str | None = None,
    squad: str | None = None,
) -> pd.DataFrame:
    """The incidents since ``since`` (of one community, or one squad's) with what the
    jurisdiction map shows of them."""
    rows = store.occurred_since(session, since, community=community, squad=squad)
    return pd.DataFrame(
        [{c: getattr(r, c) for c in _MAP_COLUMNS} for r in rows], columns=list(_MAP_COLUMNS)
    )


def get_visible_incident(
    session: Session, principal: Principal, incident_id: str, *, prefix: str
) -> Incident:
    """The incident of that id if the principal may see it; 404 otherwise (an officer of
    another community is not told that it exists)."""
    incident = get_incident(session=session, incident_id=incident_id, prefix=prefix)
    if not auth_service.visible_incident(
        principal,
        community=incident.community_code,
        squad=incident.squad,
        community_squad=incident.community_squad,
    ):
        raise _missing(incident_id)  # the very answer of an id that does not exist
    return incident


def get_intake(settings: SettingsDep) -> IntakeParams:
    """Intake parameters from the settings (a request dependency)."""
    return IntakeParams(
        id_prefix=settings.incident_id_prefix,
        duplicate_radius_m=settings.duplicate_radius_m,
        duplicate_window_hours=settings.duplicate_window_hours,
        duplicate_limit=settings.duplicate_limit,
    )


IntakeDep = Annotated[IntakeParams, Depends(get_intake)]
