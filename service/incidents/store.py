"""Queries of the incidents domain. Never commits: the caller's unit of work does.

Spatial filters use the spatial index of either database (SpatiaLite's R*Tree through its
``SpatialIndex`` table, PostGIS's GiST through ``&&``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Integer, Select, and_, column, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.timezones import BEIJING
from .models import CLOSED_STATUSES, Incident

__all__ = [
    "IncidentFilter",
    "PublicId",
    "by_idempotency_key",
    "get",
    "in_scope",
    "insert_many",
    "is_idempotency_conflict",
    "list_incidents",
    "open_before",
    "set_status",
]


@dataclass(frozen=True, slots=True)
class PublicId:
    """A parsed incident id: the database number and, for a public id, the year received."""

    number: int
    year: int | None = None

    def matches(self, incident: Incident) -> bool:
        """Whether ``incident`` is the one this id names (number, and year when given)."""
        return incident.id == self.number and (
            self.year is None or incident.received_at.astimezone(BEIJING).year == self.year
        )


def _bbox_clause(session: Session, bbox: tuple[float, float, float, float]) -> Any:
    """A filter on incidents.geom that uses the spatial index (R*Tree or GiST)."""
    minx, miny, maxx, maxy = bbox
    if session.get_bind().dialect.name == "sqlite":
        rowids = (
            text(
                "SELECT rowid FROM SpatialIndex WHERE f_table_name = 'incidents' "
                "AND f_geometry_column = 'geom' "
                "AND search_frame = BuildMbr(:minx, :miny, :maxx, :maxy, 4326)"
            )
            .bindparams(minx=minx, miny=miny, maxx=maxx, maxy=maxy)
            .columns(column("rowid", Integer))
        )
        return Incident.id.in_(rowids)
    return Incident.geom.op("&&")(func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326))


# Rows read for one duplicate check at most: far more than any real spot holds within the
# radius and window, and a bound on the work when a load test files thousands at one point.
DUPLICATE_SCAN_LIMIT = 5000


def open_before(
    session: Session,
    incident: Incident,
    *,
    window: timedelta,
    bbox: tuple[float, float, float, float],
    community: str | None = None,
) -> list[Any]:
    """Open incidents of ``incident``'s category reported before it, within ``window`` of its
    occurred_at and inside ``bbox`` (WGS84 degrees, by the spatial index); in ``community``
    only, when given. Plain rows (id, received_at, category, status, occurred_at, lon, lat,
    community_code), the latest :data:`DUPLICATE_SCAN_LIMIT` at most."""
    query = (
        select(
            Incident.id,
            Incident.received_at,
            Incident.category,
            Incident.status,
            Incident.occurred_at,
            Incident.lon,
            Incident.lat,
            Incident.community_code,
        )
        .where(
            Incident.category == incident.category,
            Incident.status.not_in(sorted(CLOSED_STATUSES)),
            Incident.id < incident.id,
            Incident.occurred_at >= incident.occurred_at - window,
            Incident.occurred_at <= incident.occurred_at + window,
            _bbox_clause(session, bbox),
        )
        .order_by(Incident.id.desc())
        .limit(DUPLICATE_SCAN_LIMIT)
    )
    if community is not None:
        query = query.where(Incident.community_code == community)
    return list(session.execute(query))


def get(session: Session, number: int) -> Incident | None:
    """The incident with database id ``number``."""
    return session.get(Incident, number)


def by_idempotency_key(session: Session, key: str) -> Incident | None:
    """The incident stored with ``Idempotency-Key`` ``key``."""
    return session.scalar(select(Incident).where(Incident.idempotency_key == key))


def is_idempotency_conflict(exc: IntegrityError) -> bool:
    """Whether ``exc`` is the unique index on ``idempotency_key`` refusing a second row."""
    return "idempotency_key" in str(exc.orig)


def insert_many(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert incident rows in one statement; their ids, in order."""
    return list(
        session.scalars(insert(Incident).returning(Incident.id, sort_by_parameter_order=True), rows)
    )


def set_status(
    session: Session, incident: Incident, *, expected: str, status: str, at: datetime
) -> bool:
    """Move ``incident`` from ``expected`` to ``status`` with a conditional UPDATE; False when
    its status changed meanwhile (nothing is written then)."""
    changed = session.execute(
        update(Incident)
        .where(Incident.id == incident.id, Incident.status == expected)
        .values(status=status, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(incident)
    return True


def status_of(session: Session, number: int) -> str | None:
    """The stored status of incident ``number``."""
    return session.scalar(select(Incident.status).where(Incident.id == number))


def frame_rows(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    left_out: tuple[str, ...],
    community_codes: list[str] | None = None,
) -> list[Any]:
    """Location, category, source, time, urgency, community and squad of the incidents that
    occurred in [since, until), leaving out the statuses ``left_out``."""
    query = select(
        Incident.lon,
        Incident.lat,
        Incident.category,
        Incident.source,
        Incident.occurred_at,
        Incident.urgent,
        Incident.community_code,
        Incident.squad,
    ).where(
        Incident.occurred_at >= since,
        Incident.occurred_at < until,
        Incident.status.not_in(left_out),
    )
    if community_codes is not None:
        query = query.where(Incident.community_code.in_(community_codes))
    return list(session.execute(query).all())


_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def in_scope(query: _Query, *, community: str | None, squad: str | None) -> _Query:
    """``query`` kept to one community's incidents, or one squad's (resolved to the squad, or
    in a community of the squad), as a scoped reader sees them."""
    if community is not None:
        query = query.where(Incident.community_code == community)
    if squad is not None:
        query = query.where(or_(Incident.squad == squad, Incident.community_squad == squad))
    return query


def occurred_since(
    session: Session, since: datetime, *, community: str | None = None, squad: str | None = None
) -> list[Incident]:
    """Incidents that occurred at or after ``since`` (in one community, or one squad's)."""
    query = select(Incident).where(Incident.occurred_at >= since)
    return list(session.scalars(in_scope(query, community=community, squad=squad)))


def count(session: Session) -> int:
    """How many incidents are stored."""
    return int(session.scalar(select(func.count(Incident.id))) or 0)


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """Filters of :func:`list_incidents`; ``None`` means no filter.

    ``squads`` is the squad that answers for the incident (the key road's squad on a key
    road); ``community_squads`` is the squad of the community it lies in. ``until`` is
    exclusive. ``public_ids`` match the number and, for public ids, the year received.
    """

    public_ids: list[PublicId] | None = None
    community_codes: set[str] | None = None
    squads: set[str] | None = None
    community_squads: set[str] | None = None
    # A squad leader's scope: answered by the squad, or in one of its communities.
    either_squad: str | None = None
    categories: set[str] | None = None
    statuses: set[str] | None = None
    sources: set[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    time_field: str = "occurred_at"
    bbox: tuple[float, float, float, float] | None = None


def _id_clause(wanted: PublicId) -> Any:
    if wanted.year is None:
        return Incident.id == wanted.number
    return and_(
        Incident.id == wanted.number,
        Incident.received_at >= datetime(wanted.year, 1, 1, tzinfo=BEIJING),
        Incident.received_at < datetime(wanted.year + 1, 1, 1, tzinfo=BEIJING),
    )


def _filtered(session: Session, query: Select[Any], flt: IncidentFilter) -> Select[Any]:
    time_column = getattr(Incident, flt.time_field)
    conditions: list[Any] = []
    if flt.public_ids is not None:
        conditions.append(
            or_(*(_id_clause(p) for p in flt.public_ids))
            if flt.public_ids
            else Incident.id.is_(None)
        )
    if flt.community_codes is not None:
        conditions.append(Incident.community_code.in_(sorted(flt.community_codes)))
    if flt.squads is not None:
        conditions.append(Incident.squad.in_(sorted(flt.squads)))
    if flt.community_squads is not None:
        conditions.append(Incident.community_squad.in_(sorted(flt.community_squads)))
    if flt.either_squad is not None:
        conditions.append(
            or_(Incident.squad == flt.either_squad, Incident.community_squad == flt.either_squad)
        )
    if flt.categories is not None:
        conditions.append(Incident.category.in_(sorted(flt.categories)))
    if flt.statuses is not None:
        conditions.append(Incident.status.in_(sorted(flt.statuses)))
    if flt.sources is not None:
        conditions.append(Incident.source.in_(sorted(flt.sources)))
    if flt.since is not None:
        conditions.append(time_column >= flt.since)
    if flt.until is not None:
        conditions.append(time_column < flt.until)
    if flt.bbox is not None:
        minx, miny, maxx, maxy = flt.bbox
        conditions += [
            _bbox_clause(session, flt.bbox),
            Incident.lon.between(minx, maxx),
            Incident.lat.between(miny, maxy),
        ]
    return query.where(*conditions)


def list_incidents(
    *, session: Session, filters: IncidentFilter | None = None, limit: int = 100, offset: int = 0
) -> tuple[int, list[Incident]]:
    """The total matching ``filters`` and one page of them, newest ``time_field`` first."""
    flt = filters or IncidentFilter()
    total = session.scalar(_filtered(session, select(func.count(Incident.id)), flt)) or 0
    page = (
        _filtered(session, select(Incident), flt)
        .order_by(getattr(Incident, flt.time_field).desc(), Incident.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return int(total), list(session.scalars(page))
