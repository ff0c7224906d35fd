"""Rate limits on intake, per signed-in person (or API client) and per client address.

A report flood (a script gone wrong, a client retrying in a loop, a hostile one) must not crowd
out the information officers and the 12345 hotline. Intake routes call :meth:`Throttle.hit`
once they know who is asking; over either limit the request is a 429 with ``Retry-After``,
and nothing is stored.

The counts are ``limits``' moving windows in this process's memory: each service worker counts
the requests it serves, so with N workers a client spread over all of them may reach N times
the limit. Sign-in has its own throttle on failed attempts, counted in the database
(:mod:`service.auth.service`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from .errors import TooManyRequestsError

__all__ = ["RateLimits", "Throttle", "ThrottleDep", "parse_rates"]


def parse_rates(text: str) -> list[RateLimitItem]:
    """``"120/minute; 2000/hour"`` as limit items; ValueError naming the accepted form."""
    try:
        return list(parse_many(text))
    except ValueError:
        msg = f"{text!r} is not a rate; write it as '120/minute' or '120/minute; 2000/hour'."
        raise ValueError(msg) from None


class RateLimits:
    """The intake windows of one process: per person or client, and per address."""

    def __init__(self, *, per_user: str, per_address: str) -> None:
        self._per_user = parse_rates(per_user)
        self._per_address = parse_rates(per_address)
        self._window = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, *, who: str, address: str | None) -> None:
        """Count one request, or raise :class:`TooManyRequestsError` (nothing counted then)."""
        checks = [(item, "user", who, "per person") for item in self._per_user]
        if address is not None:
            checks += [(item, "address", address, "per address") for item in self._per_address]
        for item, kind, key, scope in checks:
            if not self._window.test(item, "intake", kind, key):
                reset = self._window.get_window_stats(item, "intake", kind, key).reset_time
                wait = max(1, math.ceil(reset - time.time()))
                unit = item.GRANULARITY.name
                period = f"{item.multiples} {unit}s" if item.multiples > 1 else unit
                raise TooManyRequestsError(
                    None,
                    f"Too many reports {scope}: at most {item.amount} per {period}.",
                    f"wait {wait} s (Retry-After) and send again with the same "
                    "Idempotency-Key; a batch of history goes through the bulk import.",
                    retry_after_s=wait,
                )
        for item, kind, key, _ in checks:
            self._window.hit(item, "intake", kind, key)


@dataclass(frozen=True, slots=True)
class Throttle:
    """The app's intake limits bound to the address of the request at hand."""

    limits: RateLimits
    address: str | None

    def hit(self, who: str) -> None:
        """Count one report by ``who`` from this request's address (429 when over a limit)."""
        self.limits.hit(who=who, address=self.address)


def get_throttle(request: Request) -> Throttle:
    """The dependency behind :data:`ThrottleDep`."""
    address = request.client.host if request.client else None
    return Throttle(request.app.state.rate_limits, address)


ThrottleDep = Annotated[Throttle, Depends(get_throttle)]
