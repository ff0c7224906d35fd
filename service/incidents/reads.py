"""How an incident reads: its public id, and its API view (:class:`IncidentRead`).

Public ids look like ``QSH-2026-000123``: a prefix from the settings, the year the incident was
received (Beijing time) and the database id. They are derived, not stored, so they cost no second
write; :func:`parse_public_id` accepts them (strictly: this service's prefix, six digits or more)
or the bare number, and :func:`service.incidents.service.get_incident` and the ``public_ids``
filter check the year too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy.orm import Session

from ..core.errors import NotFoundError
from ..core.schemas import LocationRead
from ..core.timezones import BEIJING
from ..layers import service as layers_service
from .categories import get_category
from .models import Incident
from .schemas import IncidentRead, Resolution
from .store import PublicId

__all__ = [
    "LayerNames",
    "as_utc",
    "incident_read",
    "incident_reads",
    "load_names",
    "parse_public_id",
    "public_id",
]

_PUBLIC_ID: Final = re.compile(r"^(?P<prefix>[A-Za-z]{2,8})-(?P<year>\d{4})-(?P<number>\d{6,12})$")
_NUMBER: Final = re.compile(r"^\d{1,12}$")
_MAX_ID: Final = 2**31 - 1  # incidents.id is a 32-bit integer on both databases


def public_id(incident: Incident, *, prefix: str) -> str:
    """``PREFIX-YYYY-NNNNNN``: the year received (Beijing time) and the database id."""
    year = incident.received_at.astimezone(BEIJING).year
    return f"{prefix}-{year}-{incident.id:06d}"


def parse_public_id(text_id: str, *, prefix: str) -> PublicId:
    """Parse ``QSH-2026-000123`` (this service's ``prefix``, any case) or a bare ``123``.

    Strict: another prefix, a short number (``QSH-2026-123``) or anything else raises
    :class:`NotFoundError` naming the field ``id``. The year is returned, not checked: only the
    stored row knows it (:meth:`PublicId.matches`).
    """
    raw = text_id.strip()
    if _NUMBER.match(raw) and int(raw) <= _MAX_ID:
        return PublicId(int(raw))
    match = _PUBLIC_ID.match(raw)
    if match is not None and match["prefix"].upper() == prefix.upper():
        number, year = int(match["number"]), int(match["year"])
        if f"{number:06d}" == match["number"] and number <= _MAX_ID and 1 <= year < 9999:
            return PublicId(number, year)
    raise NotFoundError(
        "id",
        f"{text_id!r} is not an incident id of this service.",
        f"use the id returned when the incident was created, e.g. "
        f"{prefix}-2026-000123, or its number (123).",
    )


# -- conversion -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LayerNames:
    """The labels of layer versions and the names of their squads, as reads show them."""

    labels: dict[int, str]
    squads: dict[tuple[int, str], str]


def load_names(session: Session, version_ids: set[int]) -> LayerNames:
    """The labels and squad names of the layer versions ``version_ids`` (layers domain)."""
    labels, squads = layers_service.layer_names(session, version_ids)
    return LayerNames(labels, squads)


def _flags(incident: Incident) -> list[str]:
    flags = []
    if incident.urgent:
        flags.append("urgent")
    if incident.near_boundary:
        flags.append("near_boundary")
    if incident.key_road_id:
        flags.append("on_key_road")
    return flags


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC, the zone every answer uses."""
    # Rows just written still hold the zone they were sent in; answer in UTC either way.
    return value.astimezone(UTC)


def incident_read(incident: Incident, names: LayerNames, prefix: str) -> IncidentRead:
    """The API view of one ORM incident, with ``names`` already looked up."""
    vid = incident.layer_version_id
    return IncidentRead(
        id=public_id(incident, prefix=prefix),
        number=incident.id,
        category=incident.category,
        category_name=get_category(incident.category).name_zh,
        location=LocationRead(lon=incident.lon, lat=incident.lat),
        input_location=LocationRead(
            lon=incident.input_lon, lat=incident.input_lat, crs=incident.input_crs
        ),
        occurred_at=as_utc(incident.occurred_at),
        reported_at=as_utc(incident.reported_at),
        received_at=as_utc(incident.received_at),
        updated_at=as_utc(incident.updated_at),
        source=incident.source,
        reporter=incident.reporter,
        urgent=incident.urgent,
        description=incident.description,
        photo_urls=list(incident.photo_urls),
        address=incident.address,
        status=incident.status,
        resolution=Resolution(
            layer_version=names.labels.get(vid, str(vid)),
            community_code=incident.community_code,
            community_name=incident.community_name,
            community_squad=incident.community_squad,
            squad=incident.squad,
            squad_name=names.squads.get((vid, incident.squad)),
            key_road_id=incident.key_road_id,
            key_road_name=incident.key_road_name,
            key_road_m=incident.key_road_m,
            boundary_m=incident.boundary_m,
            near_boundary=incident.near_boundary,
        ),
        flags=_flags(incident),
        created_by=incident.created_by,
    )


def incident_reads(
    *, session: Session, incidents: list[Incident], prefix: str = "QSH"
) -> list[IncidentRead]:
    """Convert ORM incidents to API schemas, with layer labels and squad names."""
    names = load_names(session, {i.layer_version_id for i in incidents})
    return [incident_read(i, names, prefix) for i in incidents]
