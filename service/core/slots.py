"""A bound on the requests a worker serves at once, so that its connection pool always suffices.

A write request holds two sessions (its unit of work, and a read session for who is asking and
the active layer), each with a connection, and only gives them back when it ends. Under a burst
of reports, every pooled connection was taken by a request's read session while each of those
requests waited for a second one: nobody finished until the pool timeout turned them into 503s
(measured with ``bench/intake_http.py`` at 300 reports/s on PostGIS: intake stalled). With at
most ``slots`` requests inside the app, and a pool of three connections per slot, no request
ever waits for a connection another request holds. The rest wait here, in order, costing
nothing but a place in the event loop's queue.
"""

from __future__ import annotations

import asyncio
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["RequestSlots"]

# Answered without the database: they must not queue behind a burst (a load balancer's
# liveness probe, the pages' scripts and styles).
_UNBOUNDED: Final = ("/healthz", "/static/")


class RequestSlots:
    """ASGI middleware: at most ``slots`` HTTP requests in the app at once; others wait."""

    def __init__(self, app: ASGIApp, slots: int) -> None:
        self.app = app
        self.slots = slots
        self._semaphore = asyncio.Semaphore(slots)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on once a slot is free (at once for the unbounded paths)."""
        if scope["type"] != "http" or scope["path"].startswith(_UNBOUNDED):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a semaphore serves one event loop (tests start several)
            self._semaphore, self._loop = asyncio.Semaphore(self.slots), loop
        async with self._semaphore:
            await self.app(scope, receive, send)
