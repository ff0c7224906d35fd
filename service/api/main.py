"""The API router: every resource router, the error handlers and the body size limit."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from .errors import BodySizeLimit, install_error_handlers
from .routes import incidents, jurisdiction, layers, open311

__all__ = ["api_router", "install"]

api_router = APIRouter()
api_router.include_router(incidents.router)
api_router.include_router(incidents.categories_router)
api_router.include_router(jurisdiction.router)
api_router.include_router(layers.router)
api_router.include_router(open311.router)


@api_router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


def install(app: FastAPI, *, max_body_bytes: int) -> None:
    """Mount the routers, the error handlers and the body size limit on ``app``."""
    app.include_router(api_router)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
