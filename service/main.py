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
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import layers

from . import layerstore
from .api.main import install
from .config import Settings, get_settings
from .crud.errors import UnavailableError
from .db import make_engine, make_sessionmaker, migrate
from .models import LayerVersion

__all__ = ["create_app", "ensure_layers"]

log = logging.getLogger(__name__)


def ensure_layers(factory: sessionmaker[Session], settings: Settings) -> str | None:
    """Import and activate the configured pack when no layer version is stored.

    Returns the label imported, or None when a version was already stored or no pack is there.
    """
    with factory() as session:
        if session.scalar(select(LayerVersion.id).limit(1)) is not None:
            return None
        try:
            pack = layers.read_pack(settings.layer_pack)
        except FileNotFoundError as exc:
            log.warning("No layer version stored and no pack to import (%s); incidents cannot "
                        "be resolved until one is imported.", exc)
            return None
        version = layerstore.import_pack(session, pack, actor="system:startup", activate=True)
        session.commit()
        return version.label


def _startup(app: FastAPI, settings: Settings) -> Engine:
    engine = make_engine(settings.database_url, spatialite_library=settings.spatialite_library)
    migrate(engine)
    factory = make_sessionmaker(engine)
    label = ensure_layers(factory, settings)
    if label:
        log.info("Imported and activated layer version %s.", label)
    cache = layerstore.JurisdictionCache(settings.resolve_params())
    with factory() as session:
        try:
            cache.get(session)  # build the resolver now, not on the first request
        except UnavailableError as exc:
            log.warning("%s", exc)
    app.state.engine = engine
    app.state.sessionmaker = factory
    app.state.read_sessionmaker = make_sessionmaker(engine, readonly=True)
    app.state.jurisdiction_cache = cache
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
