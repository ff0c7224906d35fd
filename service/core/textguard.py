"""Refuse text with a NUL character, wherever a request carries it: PostgreSQL cannot store one
(``text fields cannot contain NUL``), so such a value was a 500 on PostGIS while SpatiaLite
stored it. No field of jiedao's has a use for one; the answer is a 422 naming the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import Request

from .errors import InvalidInputError

__all__ = ["refuse_nul"]

_NUL = "\x00"
_FIX = "remove the NUL (\\u0000) character; no field takes one."


def _in_json(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, str):
        if _NUL in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if _NUL in key:
                yield f"{path}.{key!r}" if path else repr(key)
            yield from _in_json(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _in_json(item, f"{path}.{index}" if path else str(index))


async def _body_fields(request: Request) -> Iterator[str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method in ("GET", "HEAD", "OPTIONS") or not kind:
        return iter(())
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        # The form FastAPI parsed (or parses now; cached either way): its text fields, not its
        # files, which may be binary, NULs and all.
        form = await request.form()
        return (
            name
            for name, value in form.multi_items()
            if _NUL in name or (isinstance(value, str) and _NUL in value)
        )
    if kind.endswith("json"):
        body = await request.body()  # already read, and bounded, by BodySizeLimit
        if b"\\u0000" in body:
            try:
                return _in_json(json.loads(body), "")
            except ValueError:
                pass  # not JSON: FastAPI answers it as a body that does not parse
    return iter(())


async def refuse_nul(request: Request) -> None:
    """Dependency of every route: 422 on the first field whose text holds a NUL character."""
    for name, value in (*request.path_params.items(), *request.query_params.multi_items()):
        if _NUL in name or _NUL in str(value):
            raise InvalidInputError(name, f"{name} holds a NUL character.", _FIX)
    for field in await _body_fields(request):
        raise InvalidInputError(field, f"{field} holds a NUL character.", _FIX)
