"""Request dependencies: settings, a database session, the active layer and the actor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from geo.roadgraph import RoadGraph

from ..config import Settings
from ..crud import IntakeParams, UnavailableError
from ..layerstore import ActiveLayer, JurisdictionCache
from ..planning import NetworkCache

__all__ = [
    "ActorDep",
    "IntakeDep",
    "LayerDep",
    "NetworkDep",
    "NowDep",
    "SessionDep",
    "SettingsDep",
    "active_layer_or_none",
    "get_db",
]


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    """A session per request; a write commits explicitly, anything left is rolled back.

    GET and HEAD requests get a read-only session, which on SpatiaLite takes no writer lock.
    """
    readonly = request.method in ("GET", "HEAD")
    factory = request.app.state.read_sessionmaker if readonly else request.app.state.sessionmaker
    with factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_layer(request: Request, session: SessionDep) -> ActiveLayer:
    """The active layer version and its resolver."""
    cache: JurisdictionCache = request.app.state.jurisdiction_cache
    return cache.get(session)


def active_layer_or_none(request: Request, session: Session) -> ActiveLayer | None:
    """The active layer version, or None when the database has none (for optional uses)."""
    cache: JurisdictionCache = request.app.state.jurisdiction_cache
    try:
        return cache.get(session)
    except UnavailableError:
        return None


def get_actor(x_actor: Annotated[str | None, Header(max_length=200,
              description="Who makes this write (user or system id).")] = None) -> str | None:
    """The ``X-Actor`` header, if sent."""
    return x_actor.strip() if x_actor and x_actor.strip() else None


def get_intake(settings: SettingsDep) -> IntakeParams:
    """Intake parameters from the settings."""
    return IntakeParams(id_prefix=settings.incident_id_prefix,
                        duplicate_radius_m=settings.duplicate_radius_m,
                        duplicate_window_hours=settings.duplicate_window_hours)


def get_network(request: Request, layer: Annotated[ActiveLayer, Depends(get_layer)]
                ) -> RoadGraph:
    """The road graph of the active layer version."""
    cache: NetworkCache = request.app.state.network_cache
    return cache.get(layer)


LayerDep = Annotated[ActiveLayer, Depends(get_layer)]
NetworkDep = Annotated[RoadGraph, Depends(get_network)]
ActorDep = Annotated[str | None, Depends(get_actor)]
IntakeDep = Annotated[IntakeParams, Depends(get_intake)]


def get_now(request: Request) -> datetime:
    """The time of this request (UTC); tests set ``app.state.clock`` to a fixed clock."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else datetime.now(UTC)


NowDep = Annotated[datetime, Depends(get_now)]
