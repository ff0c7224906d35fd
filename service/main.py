"""The application factory: ``uvicorn --factory service.main:create_app``.

At start-up the app makes its engine, migrates the schema to the latest revision, imports the
bundled layer pack (or ``JIEDAO_LAYER_PACK``) when the database holds no layer version, and builds
the resolver of the active version.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from geo.errors import RoadGraphError

from . import layerstore
from .api.main import install
from .config import Settings, get_settings
from .crud.errors import UnavailableError
from .db import make_engine, make_sessionmaker, migrate, session_scope
from .planning import NetworkCache

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def _startup(app: FastAPI, settings: Settings) -> Engine:
    engine = make_engine(settings.database_url, spatialite_library=settings.spatialite_library)
    migrate(engine)
    factory = make_sessionmaker(engine)
    label = None
    with session_scope(factory) as session:
        try:
            label = layerstore.ensure_layers(session, settings, actor="system:startup")
        except FileNotFoundError as exc:
            log.warning("No layer version stored and no pack to import (%s); incidents cannot "
                        "be resolved until one is imported.", exc)
    if label:
        log.info("Imported and activated layer version %s.", label)
    cache = layerstore.JurisdictionCache(settings.resolve_params())
    networks = NetworkCache()
    with factory() as session:
        try:
            # Build the resolver and the road graph now, not on a dispatcher's first request.
            networks.get(cache.get(session))
        except (UnavailableError, RoadGraphError) as exc:
            log.warning("%s", exc)
    app.state.engine = engine
    app.state.sessionmaker = factory
    app.state.read_sessionmaker = make_sessionmaker(engine, readonly=True)
    app.state.jurisdiction_cache = cache
    app.state.network_cache = networks
    return engine


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the FastAPI app for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = _startup(app, settings)
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="jiedao",
        summary="GIS dispatch for a sub-district law-enforcement team",
        description=("Report incidents in the 21 enforcement categories, resolve them to "
                     "community, squad and key road, and serve them as JSON, GeoJSON and "
                     "Open311 GeoReport v2."),
        version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    install(app, max_body_bytes=settings.max_body_bytes)
    return app
