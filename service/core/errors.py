"""Every error of the service, as the API answers it: one error model, and the handlers.

The exceptions that services and stores raise, and :data:`ERROR_STATUS`, the one table of
their statuses, are in :mod:`service.core.exceptions` and re-exported here, so importers keep
importing them from this module. The handlers installed by :func:`install_error_handlers`
answer each in one shape, :class:`ErrorResponse`
(``{"detail": [{"field": "location.lat", "message": "...", "fix": "..."}]}``), which every route
declares in the OpenAPI schema. A database that cannot be reached (or, on SpatiaLite, stays
locked past the busy timeout) is a 503 with ``Retry-After``: the unit of work was rolled back,
so the request can be sent again. Open311 routes answer the GeoReport v2 format instead
(``[{"code": 400, "description": "..."}]`` or its XML), whatever raised the error. Request
bodies larger than ``max_body_bytes`` are refused with 413 before they are read in full.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import quote
from xml.etree import ElementTree as ET

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import exc as sa_exc
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .audit import CONTEXT_KEY, AuditContext, record
from .db import unit_of_work
from .exceptions import (
    ERROR_STATUS,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    NotSignedInError,
    Open311Error,
    PermissionDeniedError,
    ServiceError,
    TooManyRequestsError,
    UnavailableError,
    error_item,
    error_items,
)
from .exceptions import status_of as status_of  # re-exported: tests import it from here

__all__ = [
    "ERROR_RESPONSES",
    "ERROR_STATUS",
    "BodySizeLimit",
    "ConflictError",
    "ErrorItem",
    "ErrorResponse",
    "InvalidInputError",
    "NotFoundError",
    "NotSignedInError",
    "Open311Error",
    "PermissionDeniedError",
    "ServiceError",
    "TooManyRequestsError",
    "UnavailableError",
    "describe",
    "error_items",
    "error_response",
    "errors",
    "install_error_handlers",
    "validation_items",
    "xml_response",
]

log = logging.getLogger(__name__)


# -- the error model ------------------------------------------------------------------------


class ErrorItem(BaseModel):
    """One problem with a request."""

    field: str | None = Field(description="Dotted path of the input at fault, e.g. location.lat.")
    message: str
    fix: str


class ErrorResponse(BaseModel):
    """Every error of the jiedao API (Open311 routes use the Open311 error format)."""

    detail: list[ErrorItem]
    current: dict[str, Any] | None = Field(
        None,
        description="For a 409 that lost to stored state: that state (e.g. who holds "
        "the assignment, since when).",
    )


_DESCRIPTIONS: Final = {
    400: "A body that cannot be parsed (not JSON, or not a form).",
    401: "Not signed in.",
    403: "Not allowed.",
    404: "Not found: the field names what to check.",
    409: "Conflicts with stored state.",
    429: "Too many attempts: wait for Retry-After seconds.",
    413: "The request body is too large.",
    422: "Invalid input: each item names the field, what is wrong and the fix.",
    503: "Not available yet (no active layer version, no road network, no database).",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each error status it can answer, with the error model.

    Always as JSON, whatever the route's own media type: FastAPI would otherwise declare a
    page's errors as text/html only (a browser does get an HTML page for some of them).
    """
    json_error = {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
    return {
        code: {
            "model": ErrorResponse,
            "description": _DESCRIPTIONS.get(code, "Error."),
            "content": {"application/json": json_error},
        }
        for code in codes
    }


# The statuses any route can answer: a body that does not parse (400), bad input (422), an
# oversized body (413), not signed in or not allowed (401, 403), and no database
# or no active layer (503). Routes add 404, 409 where they can happen.
ERROR_RESPONSES: Final = errors(400, 401, 403, 413, 422, 503)


# A database that cannot be reached, is restarting, or is busy past its timeout: the request's
# unit of work was rolled back, so the client may safely send it again.
DATABASE_RETRY_AFTER_S: Final = 5
DATABASE_DOWN: Final[tuple[type[Exception], ...]] = (
    sa_exc.OperationalError,  # connection refused or lost; SQLite "database is locked"
    sa_exc.InterfaceError,  # a connection closed under the driver
    sa_exc.TimeoutError,  # no pooled connection within pool_timeout
)


def _database_down_items() -> list[dict[str, Any]]:
    return [
        error_item(
            None,
            "The database cannot be reached just now; nothing of this request was stored.",
            f"send the same request again in {DATABASE_RETRY_AFTER_S} seconds (with its "
            "Idempotency-Key, if it had one).",
        )
    ]


def _database_down_page() -> HTMLResponse:
    """What a person sees instead of a page while the database is away: it reloads itself."""
    body = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{DATABASE_RETRY_AFTER_S}">'
        "<title>数据库暂不可用 Database unavailable · jiedao</title></head>"
        '<body style="font-family:sans-serif;max-width:40em;margin:3em auto">'
        "<h1>数据库暂不可用 <small>Database unavailable</small></h1>"
        "<p>The database cannot be reached just now. This page reloads itself every "
        f"{DATABASE_RETRY_AFTER_S} seconds and opens as soon as it is back.</p></body></html>"
    )
    return HTMLResponse(body, status_code=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)})


OPEN311_PREFIX: Final = "/open311/"
_TIME_EXAMPLE: Final = "2026-11-27T09:30:00+08:00"
_GENERIC_FIX: Final = {
    400: "correct the request and retry.",
    401: "authenticate and retry.",
    403: "ask an administrator for access.",
    404: "check the URL (see /docs).",
    405: "use a method the route accepts (see /docs).",
    413: "send a smaller request.",
    415: "send JSON (Content-Type: application/json).",
}


def error_response(
    status: int, items: Sequence[dict[str, Any]], headers: dict[str, str] | None = None
) -> JSONResponse:
    """The jiedao error body for ``items`` (each with field, message, fix)."""
    return JSONResponse({"detail": list(items)}, status_code=status, headers=headers)


# -- FastAPI validation errors --------------------------------------------------------------


def _field(loc: Sequence[int | str]) -> str | None:
    parts = [str(p) for p in loc]
    if parts == ["body"]:
        return "body"  # the body as a whole (missing, or not a JSON object)
    if len(parts) == 2 and parts[0] == "header":
        # As clients write it: Idempotency-Key, X-CSRF-Token.
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
        return (
            "send the report as a JSON object with Content-Type: application/json (forms "
            "go to /open311/v2/requests.json); see the schema at /docs."
        )
    if kind == "string_too_short":
        if field == "Idempotency-Key":
            return (
                "send a non-empty key (e.g. a UUID made once per report) or leave the header out."
            )
        return (
            f"give at least {ctx.get('min_length', 1)} character(s), or leave {field} out "
            "if it is optional."
        )
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
            return (
                "give a longitude in [-180, 180] (degrees east); check that lon and lat "
                "are not swapped."
            )
        if name == "lat":
            return (
                "give a latitude in [-90, 90] (degrees north); check that lon and lat are "
                "not swapped."
            )
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
        return (
            "give a reported_at at or after occurred_at, each with its zone (Beijing time "
            "is +08:00), or leave reported_at out to use the time received."
        )
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
        items.append(
            error_item(field, message, _fix(str(error.get("type")), field, error.get("ctx") or {}))
        )
    return items


# -- Open311 format -------------------------------------------------------------------------


def _wants_xml(request: Request) -> bool:
    return request.url.path.endswith(".xml")


def xml_response(root: ET.Element, status: int = 200) -> Response:
    """``root`` serialised as UTF-8 XML with its declaration."""
    return Response(
        ET.tostring(root, encoding="utf-8", xml_declaration=True),
        status_code=status,
        media_type="application/xml; charset=utf-8",
    )


def open311_error(
    request: Request, code: int, description: str, headers: dict[str, str] | None = None
) -> Response:
    """The GeoReport v2 error body, as JSON or XML by the URL's format suffix."""
    if _wants_xml(request):
        root = ET.Element("errors")
        error = ET.SubElement(root, "error")
        ET.SubElement(error, "code").text = str(code)
        ET.SubElement(error, "description").text = description
        response = xml_response(root, code)
        response.headers.update(headers or {})
        return response
    return JSONResponse(
        [{"code": code, "description": description}], status_code=code, headers=headers
    )


def _is_open311(request: Request) -> bool:
    return request.url.path.startswith(OPEN311_PREFIX)


def describe(items: Sequence[dict[str, Any]]) -> str:
    """Error items as one sentence each (``field: message Fix: fix``), for Open311."""
    return " ".join(
        f"{i['field'] + ': ' if i['field'] else ''}{i['message']} Fix: {i['fix']}" for i in items
    )


def _respond(
    request: Request,
    status: int,
    items: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
) -> Response:
    if _is_open311(request):
        # Open311 knows 400, 403 (a missing or bad api_key) and 404 (and server errors); map
        # the rest onto 400, except what a client must act on differently: too large, and too
        # many (429, wait for Retry-After and send again).
        code = 403 if status in (401, 403) else status
        code = code if code in (403, 404, 413, 429) or code >= 500 else 400
        return open311_error(request, code, describe(items), headers)
    return error_response(status, items, headers=headers)


def _wants_page(request: Request) -> bool:
    """A browser navigating to a page (not a script fetching JSON)."""
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


def _refusal_page(exc: PermissionDeniedError) -> HTMLResponse:
    """A page a person reads when their role may not open the page they asked for."""
    body = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        "<title>无权访问 Not allowed · jiedao</title></head>"
        '<body style="font-family:sans-serif;max-width:40em;margin:3em auto">'
        f"<h1>无权访问 <small>Not allowed</small></h1><p>{html.escape(exc.message)}</p>"
        f"<p>{html.escape(exc.fix)}</p>"
        '<p><a href="/">辖区地图 map</a> · <a href="/docs">API</a></p>'
        '<form method="post" action="/logout"><button>换个账号登录 Sign in as someone else'
        "</button></form></body></html>"
    )
    return HTMLResponse(body, status_code=403)


def _audit_refusal(request: Request, exc: PermissionDeniedError) -> None:
    """Audit a refusal in a transaction of its own: the request's was rolled back."""
    factory = getattr(request.app.state, "sessionmaker", None)
    if factory is None:
        return
    principal = getattr(request.state, "principal", None)
    route = request.scope.get("route")
    where = f"{request.method} {getattr(route, 'path', request.url.path)}"
    try:
        with unit_of_work(factory) as session:
            session.info[CONTEXT_KEY] = AuditContext(
                address=request.client.host if request.client else None,
                role=getattr(principal, "role", None),
            )
            record(
                session,
                actor=getattr(principal, "name", None) or "anonymous",
                action="refused",
                entity="route",
                entity_id=where[:200],
                detail={
                    "permission": exc.permission,
                    "path": request.url.path,
                    "message": exc.message,
                },
            )
    except Exception:  # the refusal stands even if its audit row cannot be written
        log.exception("Could not audit a refusal of %s", where)


def install_error_handlers(app: FastAPI) -> None:
    """Register one handler per error family."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return _respond(request, 422, validation_items(exc.errors()))

    async def _domain(request: Request, exc: Exception) -> Response:
        status = status_of(exc)
        items = error_items(exc)
        headers = None
        if isinstance(exc, NotSignedInError):
            if _wants_page(request) and not _is_open311(request):
                target = quote(
                    request.url.path + (f"?{request.url.query}" if request.url.query else "")
                )
                return RedirectResponse(f"/login?next={target}", status_code=303)
            headers = {"WWW-Authenticate": "Bearer"}
        elif isinstance(exc, PermissionDeniedError):
            await run_in_threadpool(_audit_refusal, request, exc)
            if _wants_page(request):
                return _refusal_page(exc)
        elif isinstance(exc, TooManyRequestsError):
            headers = {"Retry-After": str(exc.retry_after_s)}
        current = getattr(exc, "current", None)
        if current is not None and not _is_open311(request):
            # A conflict that knows the state it lost to (e.g. who is assigned, since when).
            return JSONResponse({"detail": items, "current": current}, status_code=status)
        return _respond(request, status, items, headers)

    for error_class in ERROR_STATUS:
        app.add_exception_handler(error_class, _domain)

    @app.exception_handler(Open311Error)
    async def _open311(request: Request, exc: Open311Error) -> Response:
        return open311_error(request, exc.code, exc.description)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if _is_open311(request):
            return open311_error(request, exc.status_code, detail)
        return error_response(
            exc.status_code,
            [
                error_item(
                    None,
                    detail,
                    _GENERIC_FIX.get(exc.status_code, "correct the request and retry."),
                )
            ],
            headers=getattr(exc, "headers", None),
        )

    async def _database_down(request: Request, exc: Exception) -> Response:
        log.warning("Database unavailable on %s %s: %s", request.method, request.url.path, exc)
        if _wants_page(request) and not _is_open311(request):
            return _database_down_page()
        return _respond(
            request,
            503,
            _database_down_items(),
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        )

    for error_class in DATABASE_DOWN:
        app.add_exception_handler(error_class, _database_down)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # A bug, or a database error no rule covers: logged with its traceback, answered in
        # the error model rather than as bare text.
        log.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _respond(request, 500, error_items(exc))


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
        """Refuse an oversized body with 413; pass anything else to the app, body replayed."""
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
        await self.app(
            scope,
            _replay([{"type": "http.request", "body": body, "more_body": False}], receive),
            send,
        )

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"The request body is larger than {self.max_bytes:,} bytes."
        fix = (
            "send fewer or smaller fields; upload photos elsewhere and send their URLs in "
            "photo_urls."
        )
        request = Request(scope)
        response = (
            open311_error(request, 413, f"{message} Fix: {fix}")
            if _is_open311(request)
            else error_response(413, [error_item(None, message, fix)])
        )
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
