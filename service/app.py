"""The application: ``uvicorn --factory service.app:create_app``.

The composition root: it mounts every domain's routes, the error handlers, the static files and
the body size limit. At start-up it makes the engine, migrates the schema to the latest
revision, imports the bundled layer pack (or ``JIEDAO_LAYER_PACK``) when the database holds no
layer version, and builds the resolver and the road graph of the active version.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import Engine

from geo.errors import RoadGraphError

from . import tables as tables
from .auth import people as auth_people
from .auth import routes as auth_routes
from .auth.service import PUBLIC, allow
from .casefiles import routes as casefiles_routes
from .core.config import Settings, get_settings
from .core.db import make_engine, make_sessionmaker, migrate, unit_of_work
from .core.errors import BodySizeLimit, UnavailableError, errors, install_error_handlers
from .core.ratelimit import RateLimits
from .core.slots import RequestSlots
from .core.textguard import refuse_nul
from .dispatch import routes as dispatch_routes
from .dispatch import unit_routes
from .hotspots import routes as hotspots_routes
from .incidents import routes as incidents_routes
from .layers import routes as layers_routes
from .layers import service as layers_service
from .layers.service import LayerDep
from .ledger import routes as ledger_routes
from .meetings import routes as meetings_routes
from .open311 import routes as open311_routes
from .organisation import routes as organisation_routes
from .pages import routes as pages_routes
from .pages.service import STATIC_DIR
from .plans import routes as plans_routes
from .plans import solver as plans_solver
from .reports import routes as reports_routes
from .statistics import routes as statistics_routes

__all__ = ["Health", "Readiness", "api_router", "create_app"]

log = logging.getLogger(__name__)


class Health(BaseModel):
    """The process answers."""

    status: str


class Readiness(BaseModel):
    """The service can do its work: the database answers, a layer version is active and its
    road graph is built."""

    status: str
    layer_version: str
    road_nodes: int | None


api_router = APIRouter()
for _router in (
    auth_routes.router,
    auth_routes.users_router,
    auth_routes.audit_router,
    incidents_routes.router,
    incidents_routes.categories_router,
    layers_routes.resolve_router,
    layers_routes.router,
    open311_routes.router,
    plans_routes.router,
    unit_routes.units_router,
    unit_routes.roster_router,
    dispatch_routes.router,
    dispatch_routes.backup_router,
    open311_routes.discovery_router,
    pages_routes.router,
    hotspots_routes.router,
    hotspots_routes.maps_router,
    organisation_routes.router,
    reports_routes.router,
    statistics_routes.router,
    casefiles_routes.router,
    ledger_routes.router,
    meetings_routes.router,
):
    api_router.include_router(_router)


@api_router.get("/healthz", tags=["health"], response_model=Health, dependencies=[PUBLIC])
def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@api_router.get(
    "/readyz",
    tags=["health"],
    response_model=Readiness,
    responses=errors(503),
    dependencies=[PUBLIC],
)
def readyz(request: Request, layer: LayerDep) -> Readiness:
    """Readiness, for a load balancer: 503 (with the cause) while the database is away, no
    layer version is active or its road graph cannot be built. A layer version without roads
    is ready for intake (``road_nodes`` is null: dispatch and plans answer 503)."""
    try:
        nodes: int | None = len(layers_service.get_network(request, layer).node_ids)
    except UnavailableError:
        nodes = None
    return Readiness(status="ready", layer_version=layer.label, road_nodes=nodes)


def _startup(app: FastAPI, settings: Settings) -> Engine:
    engine = make_engine(
        settings.database_url,
        spatialite_library=settings.spatialite_library,
        busy_timeout_s=settings.sqlite_busy_timeout_s,
        # Two connections a request, kept open (a new PostgreSQL connection costs a process);
        # a third at most for the audit of a refusal.
        pool_size=2 * settings.request_slots,
        max_overflow=settings.request_slots,
    )
    migrate(engine)
    factory = make_sessionmaker(engine)
    label = None
    with unit_of_work(factory) as session:
        try:
            label = layers_service.ensure_layers(session, settings, actor="system:startup")
        except FileNotFoundError as exc:
            log.warning(
                "No layer version stored and no pack to import (%s); incidents cannot "
                "be resolved until one is imported.",
                exc,
            )
    if label:
        log.info("Imported and activated layer version %s.", label)
    with factory() as session:
        demo_users = [u.username for u in auth_people.enabled_demo_users(session)]
    if demo_users and not settings.demo:
        raise RuntimeError(
            f"Demo users are enabled ({', '.join(demo_users)}) and this is not demo mode. "
            "Disable them (jiedao users disable NAME), or serve the demo with --demo."
        )
    cache = layers_service.JurisdictionCache(settings.resolve_params())
    networks = layers_service.NetworkCache()
    with factory() as session:
        try:
            # Build the resolver and the road graph now, not on a dispatcher's first request.
            networks.get(cache.get(session))
        except (UnavailableError, RoadGraphError) as exc:
            log.warning("%s", exc)
    app.state.signing_key = settings.signing_key()
    plans_solver.workers(settings.plan_workers)
    plans_solver.warm_up()
    app.state.engine = engine
    app.state.sessionmaker = factory
    app.state.read_sessionmaker = make_sessionmaker(engine, readonly=True)
    app.state.jurisdiction_cache = cache
    app.state.network_cache = networks
    return engine


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the FastAPI app for ``settings`` (default: from the environment).

    Parameters
    ----------
    settings
        The service's settings; read from ``JIEDAO_*`` and ``.env`` when None.

    Returns
    -------
    FastAPI
        The app; its lifespan opens the database and builds the caches.
    """
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
        description=(
            "Report incidents in the 21 enforcement categories, resolve them to "
            "community, squad and key road, and serve them as JSON, GeoJSON and "
            "Open311 GeoReport v2."
        ),
        version="0.1.0",
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul)],
        # The API's description is for signed-in people too: served below, behind the rule.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.get("/openapi.json", include_in_schema=False, dependencies=[allow("reference:read")])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[allow("reference:read")])
    def docs() -> HTMLResponse:
        # Swagger's "Authorize" signs in with the password flow (POST /auth/token).
        return get_swagger_ui_html(openapi_url="/openapi.json", title="jiedao API")

    app.state.settings = settings
    app.state.rate_limits = RateLimits(
        per_user=settings.intake_rate_per_user, per_address=settings.intake_rate_per_address
    )
    app.include_router(api_router)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_handlers(app)
    # Outermost last: a body is read (and refused when too big) before the request takes a slot.
    app.add_middleware(RequestSlots, slots=settings.request_slots)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
