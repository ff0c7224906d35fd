"""The API router: every resource router, the error handlers and the body size limit."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from .. import STATIC_DIR
from .errors import BodySizeLimit, install_error_handlers
from .routes import (
    console,
    dispatch,
    hotspots,
    incidents,
    jurisdiction,
    layers,
    map,
    open311,
    plans,
    units,
)

__all__ = ["STATIC_DIR", "api_router", "install"]

# The map's JavaScript and CSS (Leaflet and friends), served at /static for offline intranets.

api_router = APIRouter()
api_router.include_router(incidents.router)
api_router.include_router(incidents.categories_router)
api_router.include_router(jurisdiction.router)
api_router.include_router(layers.router)
api_router.include_router(open311.router)
api_router.include_router(plans.router)
api_router.include_router(units.router)
api_router.include_router(units.roster_router)
api_router.include_router(dispatch.router)
api_router.include_router(dispatch.backup_router)
api_router.include_router(open311.discovery_router)
api_router.include_router(map.router)
api_router.include_router(console.router)
api_router.include_router(hotspots.router)
api_router.include_router(hotspots.maps_router)


@api_router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


def install(app: FastAPI, *, max_body_bytes: int) -> None:
    """Mount the routers, the error handlers and the body size limit on ``app``."""
    app.include_router(api_router)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
