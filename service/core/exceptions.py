"""The service's exceptions, and one table of the HTTP status of every domain error.

Services and stores raise the exceptions below (or the spatial core's, from :mod:`geo.errors`);
each names the input field at fault, what is wrong and how to fix it, and carries no HTTP status.
:data:`ERROR_STATUS` maps every domain error to its status in one place, and :func:`error_items`
says what each one tells the client. The handlers that answer them, and the error model, are in
:mod:`service.core.errors`, which re-exports everything here.
"""

from __future__ import annotations

from typing import Any, Final

from geo.errors import (
    CoordinateError,
    InfeasiblePlanError,
    LayerValidationError,
    OutsideJurisdictionError,
    RoadGraphError,
    UnknownCRSError,
)

__all__ = [
    "ERROR_STATUS",
    "ConflictError",
    "InvalidInputError",
    "NotFoundError",
    "NotSignedInError",
    "Open311Error",
    "PermissionDeniedError",
    "ServiceError",
    "TooManyRequestsError",
    "UnavailableError",
    "error_item",
    "error_items",
    "status_of",
]


# -- the exceptions -------------------------------------------------------------------------


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


class NotSignedInError(ServiceError):
    """No credentials, or credentials that are expired, revoked or wrong (401)."""


class PermissionDeniedError(ServiceError, PermissionError):
    """Signed in, but the role (or its community or squad) does not allow this (403).

    ``permission`` is the rule refused; the handler audits the refusal in a transaction of
    its own, after the request's unit of work has been rolled back.
    """

    def __init__(self, field: str | None, message: str, fix: str, *, permission: str) -> None:
        super().__init__(field, message, fix)
        self.permission = permission


class TooManyRequestsError(ServiceError):
    """Too many attempts in a window (429); ``retry_after_s`` says when to try again."""

    def __init__(self, field: str | None, message: str, fix: str, *, retry_after_s: int) -> None:
        super().__init__(field, message, fix)
        self.retry_after_s = retry_after_s


class Open311Error(Exception):
    """An Open311 error: HTTP status ``code`` and a ``description``."""

    def __init__(self, code: int, description: str) -> None:
        self.code = code
        self.description = description
        super().__init__(description)


# -- the table: domain error -> status ------------------------------------------------------

ERROR_STATUS: Final[dict[type[Exception], int]] = {
    InvalidInputError: 422,
    NotFoundError: 404,
    ConflictError: 409,
    UnavailableError: 503,
    NotSignedInError: 401,
    PermissionDeniedError: 403,
    TooManyRequestsError: 429,
    # The spatial core's errors.
    OutsideJurisdictionError: 422,  # a point outside every community
    CoordinateError: 422,  # not a finite lon/lat in range
    UnknownCRSError: 422,  # a coordinate system jiedao does not accept
    LayerValidationError: 422,  # a layer pack that cannot be imported: one item per feature
    InfeasiblePlanError: 422,  # plan input that admits no plan (no unit, unreachable task)
    RoadGraphError: 503,  # the road graph cannot be built or used
}

_OUTSIDE_FIX: Final = (
    "check that location.crs says how the point was picked (wgs84 for GPS, gcj02 for "
    "Amap/Tencent, bd09 for Baidu) and that lon and lat are not swapped; a problem outside the "
    "sub-district belongs to its neighbour."
)


def status_of(exc: Exception) -> int:
    """The HTTP status of a domain error, from :data:`ERROR_STATUS` (most specific class)."""
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 500


def error_items(exc: Exception) -> list[dict[str, Any]]:
    """The ``{field, message, fix}`` items that describe a domain error."""
    if isinstance(exc, ServiceError):
        return [error_item(exc.field, exc.message, exc.fix)]
    if isinstance(exc, OutsideJurisdictionError):
        return [error_item("location", str(exc), _OUTSIDE_FIX)]
    if isinstance(exc, CoordinateError):
        return [
            error_item(
                "location", str(exc), "give finite WGS84/GCJ-02/BD-09 degrees; check lon/lat order."
            )
        ]
    if isinstance(exc, UnknownCRSError):
        return [error_item("crs", str(exc), "declare wgs84, gcj02 or bd09.")]
    if isinstance(exc, LayerValidationError):
        return [
            error_item(f"{issue.layer}[{issue.feature}]", issue.problem, issue.fix)
            for issue in exc.issues
        ]
    if isinstance(exc, InfeasiblePlanError):
        return [
            error_item(
                None,
                str(exc),
                "change the plan request as the message says (units on "
                "duty, task windows, meal windows) and plan again.",
            )
        ]
    if isinstance(exc, RoadGraphError):
        return [
            error_item(
                "roads",
                f"The road network cannot be used: {exc}",
                "check the layer pack's roads layer (jiedao layers validate PATH) and "
                "import a corrected version.",
            )
        ]
    return [error_item(None, "Internal error.", "retry later; the error is logged.")]


def error_item(field: str | None, message: str, fix: str) -> dict[str, Any]:
    """One ``{field, message, fix}`` item of the error model."""
    return {"field": field, "message": message, "fix": fix}
