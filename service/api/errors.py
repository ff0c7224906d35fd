"""Every error of the API in one format, decided in one place.

jiedao routes answer ``{"detail": [{"field": "location.lat", "message": "...", "fix": "..."}]}``;
Open311 routes answer the GeoReport v2 format (``[{"code": 400, "description": "..."}]`` or its
XML), whatever raised the error. Request bodies larger than ``max_body_bytes`` are refused with
413 before they are read in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final
from xml.etree import ElementTree as ET

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geo.errors import CoordinateError, OutsideJurisdictionError, UnknownCRSError

from ..crud.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
    UnavailableError,
)

__all__ = [
    "BodySizeLimit",
    "Open311Error",
    "describe",
    "error_response",
    "install_error_handlers",
    "validation_items",
    "xml_response",
]

OPEN311_PREFIX: Final = "/open311/"
_TIME_EXAMPLE: Final = "2026-11-27T09:30:00+08:00"
_OUTSIDE_FIX: Final = (
    "check that location.crs says how the point was picked (wgs84 for GPS, gcj02 for "
    "Amap/Tencent, bd09 for Baidu) and that lon and lat are not swapped; a problem outside the "
    "sub-district belongs to its neighbour.")
_STATUS: Final[dict[type[ServiceError], int]] = {
    InvalidInputError: 422, NotFoundError: 404, ConflictError: 409, UnavailableError: 503}
_GENERIC_FIX: Final = {
    400: "correct the request and retry.", 401: "authenticate and retry.",
    403: "ask an administrator for access.", 404: "check the URL (see /docs).",
    405: "use a method the route accepts (see /docs).", 413: "send a smaller request.",
    415: "send JSON (Content-Type: application/json).",
}


class Open311Error(Exception):
    """An Open311 error: HTTP status ``code`` and a ``description``."""

    def __init__(self, code: int, description: str) -> None:
        self.code = code
        self.description = description
        super().__init__(description)


def error_response(status: int, items: Sequence[dict[str, Any]],
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The jiedao error body for ``items`` (each with field, message, fix)."""
    return JSONResponse({"detail": list(items)}, status_code=status, headers=headers)


def _item(field: str | None, message: str, fix: str) -> dict[str, Any]:
    return {"field": field, "message": message, "fix": fix}


# -- FastAPI validation errors --------------------------------------------------------------


def _field(loc: Sequence[int | str]) -> str | None:
    parts = [str(p) for p in loc]
    if parts == ["body"]:
        return "body"  # the body as a whole (missing, or not a JSON object)
    if len(parts) == 2 and parts[0] == "header":
        # As clients write it: Idempotency-Key, X-Actor.
        return "-".join(word.capitalize() for word in parts[1].split("-"))
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if part.isdigit() else (f".{part}" if path else part)
    return path or None


def _fix(kind: str, field: str | None, ctx: dict[str, Any]) -> str:
    name = (field or "").rsplit(".", 1)[-1]
    if kind == "missing":
        return f"add {field}." if field and field != "body" else "send a JSON body."
    if kind == "model_attributes_type" and field == "body":
        return ("send the report as a JSON object with Content-Type: application/json (forms "
                "go to /open311/v2/requests.json); see the schema at /docs.")
    if kind == "string_too_short":
        if field == "Idempotency-Key":
            return ("send a non-empty key (e.g. a UUID made once per report) or leave the "
                    "header out.")
        return (f"give at least {ctx.get('min_length', 1)} character(s), or leave {field} out "
                "if it is optional.")
    if kind == "extra_forbidden":
        return "remove it or correct its spelling (see the schema at /docs)."
    if kind == "timezone_aware":
        return f"add a zone such as +08:00 (e.g. {_TIME_EXAMPLE})."
    if kind.startswith(("datetime", "date_")):
        return f"give an ISO 8601 time with its zone, e.g. {_TIME_EXAMPLE}."
    if kind == "finite_number":
        return "give a finite number: NaN and Infinity are not coordinates."
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        if name == "lon":
            return ("give a longitude in [-180, 180] (degrees east); check that lon and lat "
                    "are not swapped.")
        if name == "lat":
            return ("give a latitude in [-90, 90] (degrees north); check that lon and lat are "
                    "not swapped.")
        return "give a value in the allowed range."
    if kind.startswith("url"):
        return "give an http:// or https:// URL, e.g. https://example.org/photo.jpg."
    if kind == "literal_error":
        return f"use one of {ctx.get('expected', 'the allowed values')}."
    if kind == "json_invalid":
        return "send valid JSON (NaN and Infinity are not JSON)."
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type"):
        return "give a number."
    if kind == "too_long":
        return "send fewer items or shorter text."
    if kind == "value_error" and name == "category":
        return "use a code listed by GET /categories (C01..C21)."
    if kind == "value_error" and name == "reported_at":
        return ("give a reported_at at or after occurred_at, each with its zone (Beijing time "
                "is +08:00), or leave reported_at out to use the time received.")
    if kind == "value_error" and name == "crs":
        return "declare wgs84 (GPS), gcj02 (Amap/Tencent) or bd09 (Baidu)."
    return "correct the value and retry."


def validation_items(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Our error items for Pydantic/FastAPI validation errors."""
    items = []
    for error in errors:
        field = _field(error.get("loc", ()))
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        if error.get("type") == "timezone_aware":
            message = f"{field} has no time zone."
        items.append(_item(field, message, _fix(str(error.get("type")), field,
                                                 error.get("ctx") or {})))
    return items


# -- Open311 format -------------------------------------------------------------------------


def _wants_xml(request: Request) -> bool:
    return request.url.path.endswith(".xml")


def xml_response(root: ET.Element, status: int = 200) -> Response:
    """``root`` serialised as UTF-8 XML with its declaration."""
    return Response(ET.tostring(root, encoding="utf-8", xml_declaration=True),
                    status_code=status, media_type="application/xml; charset=utf-8")


def open311_error(request: Request, code: int, description: str) -> Response:
    """The GeoReport v2 error body, as JSON or XML by the URL's format suffix."""
    if _wants_xml(request):
        root = ET.Element("errors")
        error = ET.SubElement(root, "error")
        ET.SubElement(error, "code").text = str(code)
        ET.SubElement(error, "description").text = description
        return xml_response(root, code)
    return JSONResponse([{"code": code, "description": description}], status_code=code)


def _is_open311(request: Request) -> bool:
    return request.url.path.startswith(OPEN311_PREFIX)


def describe(items: Sequence[dict[str, Any]]) -> str:
    """Error items as one sentence each (``field: message Fix: fix``), for Open311."""
    return " ".join(f"{i['field'] + ': ' if i['field'] else ''}{i['message']} Fix: {i['fix']}"
                    for i in items)


def _respond(request: Request, status: int, items: list[dict[str, Any]]) -> Response:
    if _is_open311(request):
        # Open311 knows 400 and 404 (and server errors); map the rest onto 400.
        code = status if status in (404, 413) or status >= 500 else 400
        return open311_error(request, code, describe(items))
    return error_response(status, items)


def install_error_handlers(app: FastAPI) -> None:
    """Register one handler per error family."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return _respond(request, 422, validation_items(exc.errors()))

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> Response:
        status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
        response = _respond(request, status, [_item(exc.field, exc.message, exc.fix)])
        current = getattr(exc, "current", None)
        if current is not None and isinstance(response, JSONResponse):
            # A conflict that knows the state it lost to (e.g. who is assigned, since when).
            return JSONResponse({"detail": [_item(exc.field, exc.message, exc.fix)],
                                 "current": current}, status_code=status)
        return response

    @app.exception_handler(CoordinateError)
    async def _coordinate(request: Request, exc: CoordinateError) -> Response:
        return _respond(request, 422, [_item(
            "location", str(exc), "give finite WGS84/GCJ-02/BD-09 degrees; check lon/lat order.")])

    @app.exception_handler(UnknownCRSError)
    async def _crs(request: Request, exc: UnknownCRSError) -> Response:
        return _respond(request, 422, [_item("crs", str(exc),
                                              "declare wgs84, gcj02 or bd09.")])

    @app.exception_handler(OutsideJurisdictionError)
    async def _outside(request: Request, exc: OutsideJurisdictionError) -> Response:
        # Raised by service.crud.incidents for a point outside every community.
        return _respond(request, 422, [_item("location", str(exc), _OUTSIDE_FIX)])

    @app.exception_handler(Open311Error)
    async def _open311(request: Request, exc: Open311Error) -> Response:
        return open311_error(request, exc.code, exc.description)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if _is_open311(request):
            return open311_error(request, exc.status_code, detail)
        return error_response(exc.status_code, [_item(
            None, detail, _GENERIC_FIX.get(exc.status_code, "correct the request and retry."))],
            headers=getattr(exc, "headers", None))


# -- body size ------------------------------------------------------------------------------


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with 413, by Content-Length and as streamed.

    The body is read here, up to the limit, and replayed to the app: a chunked upload without
    Content-Length cannot slip past, and the app never sees a partial body.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._reject(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away; let the app see the disconnect.
                await self.app(scope, _replay([message]), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        await self.app(scope, _replay([{"type": "http.request", "body": body,
                                        "more_body": False}], receive), send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = (f"The request body is larger than {self.max_bytes:,} bytes.")
        fix = ("send fewer or smaller fields; upload photos elsewhere and send their URLs in "
               "photo_urls.")
        request = Request(scope)
        response = (open311_error(request, 413, f"{message} Fix: {fix}") if _is_open311(request)
                    else error_response(413, [_item(None, message, fix)]))
        await response(scope, receive, send)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive
