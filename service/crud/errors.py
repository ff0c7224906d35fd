"""Service-level errors: each names the input field at fault, what is wrong and how to fix it.

They carry no HTTP status; :mod:`service.api.errors` maps each class to one, so the CLI and the
API share them.
"""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "InvalidInputError",
    "NotFoundError",
    "ServiceError",
    "UnavailableError",
]


class ServiceError(Exception):
    """Base class: ``field`` (dotted path, or None for the request as a whole), ``message``
    and ``fix``."""

    def __init__(self, field: str | None, message: str, fix: str) -> None:
        self.field = field
        self.message = message
        self.fix = fix
        super().__init__(f"{message} Fix: {fix}")


class InvalidInputError(ServiceError, ValueError):
    """The input is well-formed but cannot be accepted (e.g. a point outside the jurisdiction)."""


class NotFoundError(ServiceError, LookupError):
    """The thing asked for does not exist."""


class ConflictError(ServiceError):
    """The request conflicts with stored state (a reused idempotency key, a duplicate label)."""


class UnavailableError(ServiceError, RuntimeError):
    """The service cannot answer yet (e.g. no active layer version)."""
