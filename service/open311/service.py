"""Open311 GeoReport v2 over the same incidents, mounted at ``/open311/v2``.

- ``services``: the 21 categories (service_code C01..C21, group = lead department).
- ``discovery`` (``/open311/discovery.json`` and ``.xml``): the GeoReport v2 service discovery
  document, pointing at ``/open311/v2``.
- ``requests`` (POST): form-encoded per the spec (``application/x-www-form-urlencoded`` or
  ``multipart/form-data``; a JSON body is refused with 400); ``lat``/``long`` are WGS84, or
  declare ``crs=gcj02|bd09`` (a jiedao extension). Stored with source ``complaint``; the
  reporter is ``account_id`` or ``device_id``, and the write is recorded as made by the
  client whose ``api_key`` it carries (``open311:<client>``; a POST without a valid key is a
  403, keys are issued by the administrator). An unknown ``service_code`` is a 400.
  ``email``, ``first_name``, ``last_name`` and ``phone`` are accepted and **not stored**:
  dispatch needs none of them and the plan asks for no personal data. ``attribute[...]`` is
  ignored (no service defines attributes). An ``Idempotency-Key`` header works as on
  ``POST /incidents``.
- ``requests`` (GET): ``service_request_id`` (comma list of ids of this service; other filters
  then ignored), ``service_code`` (an unknown one is a 400), ``start_date``/``end_date`` (on
  requested_datetime, both inclusive to the second, as the answers show whole seconds; a ``+``
  in a zone must be sent as ``%2B``), ``status`` open|closed; by default the 90 days up to
  ``end_date`` (or now), and a range may not span more than 90 days (400). At most 1000 requests
  are returned, newest first: the header ``X-Total-Count`` gives how many match, so a client
  whose count exceeds the list narrows the dates.
- ``expected_datetime`` is requested_datetime plus the category's time limit on the wall clock;
  the dispatch issue will replace it with the working-hours calendar.
- Errors use the spec's format: ``[{"code": 400, "description": "..."}]`` or ``<errors>``.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal
from xml.etree import ElementTree as ET

from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from ..core.errors import NotFoundError, Open311Error, describe, validation_items, xml_response
from ..core.timezones import BEIJING
from ..incidents import service as incidents_service
from ..incidents.service import (
    CLOSED_STATUSES,
    Category,
    IncidentCreate,
    IncidentRead,
    get_category,
)

__all__ = [
    "CHANGESET",
    "CONTACT",
    "FORM_TYPES",
    "KEY_SERVICE",
    "MAX_REQUESTS",
    "ROUTE_PREFIX",
    "Format",
    "category_of",
    "date_range",
    "fill_xml",
    "incident_from_form",
    "notice",
    "render",
    "request_entry",
    "request_ids",
    "service_entry",
]

ROUTE_PREFIX: Final = "/open311/v2"


Format = Literal["json", "xml"]
_DEFAULT_DAYS: Final = 90
_MAX_SPAN: Final = timedelta(days=90)
MAX_REQUESTS: Final = 1000
FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")
# "+08:00" sent unencoded in a query string arrives as " 08:00".
_UNENCODED_PLUS: Final = re.compile(r"\d\d:\d\d:\d\d(?:\.\d+)? \d\d:\d\d")
# When this API last changed in a way a client would notice (GeoReport v2 discovery).
CHANGESET: Final = "2026-11-27T00:00:00Z"
CONTACT: Final = (
    "The duty desk (值班室) of the Qingshuihe sub-district comprehensive "
    "law-enforcement team (清水河街道综合执法队)."
)
KEY_SERVICE: Final = (
    "POST requests need an api_key, issued by the sub-district's administrator; reads are open."
)


# -- rendering ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def render(
    fmt: Format,
    data: list[dict[str, Any]],
    root: str,
    item: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """``data`` as a JSON list or as XML (``<root><item>...</item></root>``), by ``fmt``."""
    if fmt == "json":
        return JSONResponse(data, status_code=status_code, headers=headers)
    tree = ET.Element(root)
    for entry in data:
        fill_xml(ET.SubElement(tree, item), entry)
    response = xml_response(tree, status_code)
    response.headers.update(headers or {})
    return response


def fill_xml(node: ET.Element, entry: dict[str, Any]) -> None:
    """Write ``entry`` into ``node`` as child elements (lists as repeated singular children)."""
    for key, value in entry.items():
        child = ET.SubElement(node, key)
        if isinstance(value, list):
            singular = key.removesuffix("s")
            for element in value:
                grandchild = ET.SubElement(child, singular)
                if isinstance(element, dict):
                    fill_xml(grandchild, element)
                else:
                    grandchild.text = _text(element)
        elif isinstance(value, dict):
            fill_xml(child, value)
        else:
            child.text = _text(value)


def _time(value: datetime) -> str:
    return value.astimezone(BEIJING).isoformat(timespec="seconds")


# -- services -------------------------------------------------------------------------------


def service_entry(category: Category) -> dict[str, Any]:
    """One category as a GeoReport v2 service."""
    return {
        "service_code": category.code,
        "service_name": category.name_zh,
        "description": category.name_en,
        "metadata": False,
        "type": "realtime",
        "keywords": ",".join(category.keywords),
        "group": category.lead_department,
    }


def category_of(code: str, *, status: int) -> Category:
    """The category of ``code``, or an Open311 error with ``status`` naming service_code
    (404 for a service definition's path, 400 for a request's parameter)."""
    try:
        return get_category(code)
    except KeyError:
        raise Open311Error(
            status,
            f"service_code {code!r} not found: GET services.json lists the valid codes (C01..C21).",
        ) from None


# -- requests -------------------------------------------------------------------------------


def request_entry(item: IncidentRead) -> dict[str, Any]:
    """One incident as a GeoReport v2 service request."""
    category = get_category(item.category)
    expected = item.reported_at + timedelta(hours=category.time_limit_hours)
    where = item.resolution.community_name
    if item.resolution.key_road_name:
        where = f"{where} {item.resolution.key_road_name}"
    return {
        "service_request_id": item.id,
        "status": "closed" if item.status in CLOSED_STATUSES else "open",
        "status_notes": None,
        "service_name": category.name_zh,
        "service_code": category.code,
        "description": item.description,
        "agency_responsible": item.resolution.squad_name or item.resolution.squad,
        "service_notice": notice(item),
        "requested_datetime": _time(item.reported_at),
        "updated_datetime": _time(item.updated_at),
        "expected_datetime": _time(expected),
        "address": item.address or where,
        "address_id": None,
        "zipcode": None,
        "lat": item.location.lat,
        "long": item.location.lon,
        "media_url": item.photo_urls[0] if item.photo_urls else None,
    }


def notice(item: IncidentRead) -> str:
    """The service notice of a request: who answers for it, and a near-boundary caution."""
    squad = item.resolution.squad_name or item.resolution.squad
    notice = f"{item.resolution.community_name}社区，{squad}负责。"
    if item.resolution.near_boundary:
        notice += "位置靠近社区边界，值班员将确认。"
    return notice


def _float(form: dict[str, str], name: str) -> float | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(
            400,
            f"{name} {raw!r} is not a number: give decimal degrees "
            "(WGS84 unless crs says otherwise).",
        ) from None
    if not math.isfinite(value):
        raise Open311Error(400, f"{name} must be a finite number of degrees, got {raw!r}.")
    return value


def incident_from_form(form: dict[str, str]) -> IncidentCreate:
    """The incident a GeoReport v2 form describes.

    Raises :class:`Open311Error` (400) naming the form field at fault.
    """
    code = form.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, "service_code is required: GET services.json lists them.")
    lat, lon = _float(form, "lat"), _float(form, "long")
    if lat is None or lon is None:
        missing = (
            "address_string alone cannot be located here"
            if form.get("address_string")
            else "lat and long are required"
        )
        raise Open311Error(400, f"{missing}: send lat and long (WGS84 decimal degrees).")
    account, device = form.get("account_id", "").strip(), form.get("device_id", "").strip()
    reporter = (
        f"open311-account:{account}" if account else f"open311-device:{device}" if device else None
    )
    now = datetime.now(UTC)
    data: dict[str, Any] = {
        "category": category_of(code, status=400).code,
        "location": {"lon": lon, "lat": lat, "crs": form.get("crs", "").strip() or "wgs84"},
        "occurred_at": now,
        "reported_at": now,
        "source": "complaint",
        "reporter": reporter[:200] if reporter else None,
        "description": form.get("description", ""),
        "photo_urls": [form["media_url"].strip()] if form.get("media_url", "").strip() else [],
        "address": form.get("address_string", "").strip() or None,
    }
    try:
        return IncidentCreate.model_validate(data)
    except ValidationError as exc:
        # Name the form's fields, not the model's.
        items = [
            {**i, "field": _FORM_NAMES.get(i["field"], i["field"])}
            for i in validation_items(exc.errors())
        ]
        raise Open311Error(400, describe(items)) from None


_FORM_NAMES: Final = {
    "location.lon": "long",
    "location.lat": "lat",
    "location.crs": "crs",
    "photo_urls[0]": "media_url",
    "address": "address_string",
}


def _when(name: str, raw: str | None) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    if _UNENCODED_PLUS.search(raw):
        raise Open311Error(
            400,
            f"{name} {raw!r} has a space where its zone's + should be: "
            "encode + as %2B in the URL (e.g. 2026-11-27T09:30:00%2B08:00).",
        )
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(
            400, f"{name} {raw!r} is not a W3C date-time: use e.g. 2026-11-27T09:30:00+08:00."
        ) from None
    if value.tzinfo is None:
        raise Open311Error(400, f"{name} {raw!r} has no zone: add one such as +08:00.")
    return value


def request_ids(raw: str, prefix: str) -> list[incidents_service.PublicId]:
    """The ids of a ``service_request_id`` list; 400 naming a malformed one."""
    ids = []
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        try:
            ids.append(incidents_service.parse_public_id(part, prefix=prefix))
        except NotFoundError:
            raise Open311Error(
                400,
                f"service_request_id {part!r} is not a request id of this "
                f"service (e.g. {prefix}-2026-000123).",
            ) from None
    return ids


def date_range(start_date: str | None, end_date: str | None) -> tuple[datetime, datetime | None]:
    """``since`` and exclusive ``until``: end_date counts to the end of its second."""
    start, end = _when("start_date", start_date), _when("end_date", end_date)
    if start is not None and end is not None:
        if start > end:
            raise Open311Error(400, f"start_date {start_date} is after end_date {end_date}.")
        if end - start > _MAX_SPAN:
            raise Open311Error(
                400,
                f"start_date to end_date spans {(end - start).days} days; "
                "GeoReport v2 allows at most 90: ask in several ranges.",
            )
    if start is None:
        start = (end or datetime.now(UTC)) - timedelta(days=_DEFAULT_DAYS)
    until = None if end is None else end.replace(microsecond=0) + timedelta(seconds=1)
    return start, until
