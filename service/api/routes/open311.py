"""Open311 GeoReport v2 over the same incidents, mounted at ``/open311/v2``.

- ``services``: the 21 categories (service_code C01..C21, group = lead department).
- ``discovery`` (``/open311/discovery.json`` and ``.xml``): the GeoReport v2 service discovery
  document, pointing at ``/open311/v2``.
- ``requests`` (POST): form-encoded per the spec (``application/x-www-form-urlencoded`` or
  ``multipart/form-data``; a JSON body is refused with 400); ``lat``/``long`` are WGS84, or
  declare ``crs=gcj02|bd09`` (a jiedao extension). Stored with source ``complaint``; the
  reporter is ``account_id`` or ``device_id``, and the write is recorded as made by the
  ``X-Actor`` header, else that reporter (``open311-account:<id>``, ``open311-device:<id>``),
  else ``open311``. An unknown ``service_code`` is a 400. ``email``, ``first_name``,
  ``last_name`` and ``phone`` are accepted and **not stored**: dispatch needs none of them and
  the plan asks for no personal data.
  ``attribute[...]`` is ignored (no service defines attributes). ``api_key`` is accepted and not
  checked yet. An ``Idempotency-Key`` header works as on ``POST /incidents``.
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
from typing import Annotated, Any, Final, Literal
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from ... import crud
from ...categories import CATEGORIES, Category, get_category
from ...crud.incidents import request_fingerprint
from ...models import CLOSED_STATUSES
from ...schemas import IncidentCreate, IncidentRead
from ...timezones import BEIJING
from ..deps import ActorDep, IntakeDep, LayerDep, SessionDep
from ..errors import Open311Error, describe, validation_items, xml_response

__all__ = ["discovery_router", "router"]

router = APIRouter(prefix="/open311/v2", tags=["open311"])
discovery_router = APIRouter(prefix="/open311", tags=["open311"])

Format = Literal["json", "xml"]
_DEFAULT_DAYS: Final = 90
_MAX_SPAN: Final = timedelta(days=90)
_MAX_REQUESTS: Final = 1000
_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")
# "+08:00" sent unencoded in a query string arrives as " 08:00".
_UNENCODED_PLUS: Final = re.compile(r"\d\d:\d\d:\d\d(?:\.\d+)? \d\d:\d\d")
# When this API last changed in a way a client would notice (GeoReport v2 discovery).
_CHANGESET: Final = "2026-11-27T00:00:00Z"
_CONTACT: Final = ("The duty desk (值班室) of the Qingshuihe sub-district comprehensive "
                   "law-enforcement team (清水河街道综合执法队).")
_KEY_SERVICE: Final = "No key is needed: api_key is accepted and not checked."


# -- rendering ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _render(fmt: Format, data: list[dict[str, Any]], root: str, item: str,
            status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    if fmt == "json":
        return JSONResponse(data, status_code=status_code, headers=headers)
    tree = ET.Element(root)
    for entry in data:
        _fill(ET.SubElement(tree, item), entry)
    response = xml_response(tree, status_code)
    response.headers.update(headers or {})
    return response


def _fill(node: ET.Element, entry: dict[str, Any]) -> None:
    for key, value in entry.items():
        child = ET.SubElement(node, key)
        if isinstance(value, list):
            singular = key.removesuffix("s")
            for element in value:
                grandchild = ET.SubElement(child, singular)
                if isinstance(element, dict):
                    _fill(grandchild, element)
                else:
                    grandchild.text = _text(element)
        elif isinstance(value, dict):
            _fill(child, value)
        else:
            child.text = _text(value)


def _time(value: datetime) -> str:
    return value.astimezone(BEIJING).isoformat(timespec="seconds")


# -- services -------------------------------------------------------------------------------


def _service(category: Category) -> dict[str, Any]:
    return {"service_code": category.code, "service_name": category.name_zh,
            "description": category.name_en, "metadata": False, "type": "realtime",
            "keywords": ",".join(category.keywords), "group": category.lead_department}


def _category(code: str, *, status: int) -> Category:
    """The category of ``code``, or an Open311 error with ``status`` naming service_code
    (404 for a service definition's path, 400 for a request's parameter)."""
    try:
        return get_category(code)
    except KeyError:
        raise Open311Error(status, f"service_code {code!r} not found: GET services.json lists "
                                   "the valid codes (C01..C21).") from None


@discovery_router.get("/discovery.{fmt}")
def discovery(fmt: Format, request: Request) -> Response:
    """GeoReport v2 service discovery: where the endpoint is and what it speaks."""
    base = str(request.base_url).rstrip("/")
    document = {
        "changeset": _CHANGESET, "contact": _CONTACT, "key_service": _KEY_SERVICE,
        "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2",
                       "url": f"{base}{router.prefix}", "changeset": _CHANGESET,
                       "type": "production", "formats": ["application/json", "text/xml"]}]}
    if fmt == "json":
        return JSONResponse(document)
    root = ET.Element("discovery")
    _fill(root, document)
    return xml_response(root)


@router.get("/services.{fmt}")
def list_services(fmt: Format) -> Response:
    """The service list: the 21 enforcement categories."""
    return _render(fmt, [_service(c) for c in CATEGORIES], "services", "service")


@router.get("/services/{service_code}.{fmt}")
def read_service_definition(service_code: str, fmt: Format) -> Response:
    """A service definition; no service has extra attributes yet."""
    category = _category(service_code, status=404)
    definition = {"service_code": category.code, "attributes": []}
    if fmt == "json":
        return JSONResponse(definition)
    tree = ET.Element("service_definition")
    _fill(tree, definition)
    return xml_response(tree)


# -- requests -------------------------------------------------------------------------------


def _request(item: IncidentRead) -> dict[str, Any]:
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
        "service_notice": _notice(item),
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


def _notice(item: IncidentRead) -> str:
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
        raise Open311Error(400, f"{name} {raw!r} is not a number: give decimal degrees "
                                "(WGS84 unless crs says otherwise).") from None
    if not math.isfinite(value):
        raise Open311Error(400, f"{name} must be a finite number of degrees, got {raw!r}.")
    return value


def _incident_from_form(form: dict[str, str]) -> IncidentCreate:
    code = form.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, "service_code is required: GET services.json lists them.")
    lat, lon = _float(form, "lat"), _float(form, "long")
    if lat is None or lon is None:
        missing = "address_string alone cannot be located here" \
            if form.get("address_string") else "lat and long are required"
        raise Open311Error(400, f"{missing}: send lat and long (WGS84 decimal degrees).")
    account, device = form.get("account_id", "").strip(), form.get("device_id", "").strip()
    reporter = (f"open311-account:{account}" if account else
                f"open311-device:{device}" if device else None)
    now = datetime.now(UTC)
    data: dict[str, Any] = {
        "category": _category(code, status=400).code,
        "location": {"lon": lon, "lat": lat, "crs": form.get("crs", "").strip() or "wgs84"},
        "occurred_at": now, "reported_at": now, "source": "complaint",
        "reporter": reporter[:200] if reporter else None,
        "description": form.get("description", ""),
        "photo_urls": [form["media_url"].strip()] if form.get("media_url", "").strip() else [],
        "address": form.get("address_string", "").strip() or None,
    }
    try:
        return IncidentCreate.model_validate(data)
    except ValidationError as exc:
        # Name the form's fields, not the model's.
        items = [{**i, "field": _FORM_NAMES.get(i["field"], i["field"])}
                 for i in validation_items(exc.errors())]
        raise Open311Error(400, describe(items)) from None


_FORM_NAMES: Final = {"location.lon": "long", "location.lat": "lat", "location.crs": "crs",
                      "photo_urls[0]": "media_url", "address": "address_string"}


FormText = Annotated[str | None, Form()]


@router.post("/requests.{fmt}", status_code=201)
def create_request(fmt: Format, request: Request, session: SessionDep, layer: LayerDep,
                   intake: IntakeDep, actor: ActorDep, service_code: FormText = None,
                   lat: FormText = None, long: FormText = None, address_string: FormText = None,
                   description: FormText = None, media_url: FormText = None,
                   account_id: FormText = None, device_id: FormText = None,
                   crs: FormText = None, api_key: FormText = None, email: FormText = None,
                   first_name: FormText = None, last_name: FormText = None,
                   phone: FormText = None,
                   idempotency_key: Annotated[str | None, Header(max_length=200)] = None
                   ) -> Response:
    """Create a service request (form-encoded, as the spec says).

    ``email``, ``first_name``, ``last_name`` and ``phone`` are accepted and not stored.
    """
    del api_key, email, first_name, last_name, phone  # accepted per the spec, never stored
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _FORM_TYPES:
        raise Open311Error(400, f"The request body is {media_type or 'missing'}: send the fields "
                                "as application/x-www-form-urlencoded (or multipart/form-data), "
                                "as GeoReport v2 says.")
    form = {key: value for key, value in (
        ("service_code", service_code), ("lat", lat), ("long", long),
        ("address_string", address_string), ("description", description),
        ("media_url", media_url), ("account_id", account_id), ("device_id", device_id),
        ("crs", crs)) if value is not None}
    incident_in = _incident_from_form(form)
    actor = actor or incident_in.reporter or "open311"
    created, _ = crud.create_incident(
        session=session, incident_in=incident_in, actor=actor,
        jurisdiction=layer.jurisdiction, layer_version_id=layer.version_id, params=intake,
        idempotency_key=idempotency_key,
        # The form, not the model: the model holds the receive time, which a retry changes.
        fingerprint=request_fingerprint(form, actor))
    answer = {"service_request_id": created.id, "service_notice": _notice(created),
              "account_id": account_id or None}
    return _render(fmt, [answer], "service_requests", "request", status_code=201)


def _when(name: str, raw: str | None) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    if _UNENCODED_PLUS.search(raw):
        raise Open311Error(400, f"{name} {raw!r} has a space where its zone's + should be: "
                                "encode + as %2B in the URL (e.g. 2026-11-27T09:30:00%2B08:00).")
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} {raw!r} is not a W3C date-time: use e.g. "
                                "2026-11-27T09:30:00+08:00.") from None
    if value.tzinfo is None:
        raise Open311Error(400, f"{name} {raw!r} has no zone: add one such as +08:00.")
    return value


def _ids(raw: str, prefix: str) -> list[crud.PublicId]:
    ids = []
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        try:
            ids.append(crud.parse_public_id(part, prefix=prefix))
        except crud.NotFoundError:
            raise Open311Error(400, f"service_request_id {part!r} is not a request id of this "
                                    f"service (e.g. {prefix}-2026-000123).") from None
    return ids


def _date_range(start_date: str | None, end_date: str | None
                ) -> tuple[datetime, datetime | None]:
    """``since`` and exclusive ``until``: end_date counts to the end of its second."""
    start, end = _when("start_date", start_date), _when("end_date", end_date)
    if start is not None and end is not None:
        if start > end:
            raise Open311Error(400, f"start_date {start_date} is after end_date {end_date}.")
        if end - start > _MAX_SPAN:
            raise Open311Error(400, f"start_date to end_date spans {(end - start).days} days; "
                                    "GeoReport v2 allows at most 90: ask in several ranges.")
    if start is None:
        start = (end or datetime.now(UTC)) - timedelta(days=_DEFAULT_DAYS)
    until = None if end is None else end.replace(microsecond=0) + timedelta(seconds=1)
    return start, until


@router.get("/requests.{fmt}")
def list_requests(fmt: Format, session: SessionDep, intake: IntakeDep,
                  service_request_id: str | None = None, service_code: str | None = None,
                  start_date: str | None = None, end_date: str | None = None,
                  status: str | None = None) -> Response:
    """Service requests, newest first; by default those of the last 90 days.

    At most 1000 are returned; the header ``X-Total-Count`` says how many match, so a client
    whose count is larger narrows start_date/end_date. A range may not span more than 90 days.
    ``end_date`` is inclusive to the second; send a zone's ``+`` as ``%2B``.
    """
    if service_request_id:
        flt = crud.IncidentFilter(public_ids=_ids(service_request_id, intake.id_prefix),
                                  time_field="reported_at")
    else:
        start, until = _date_range(start_date, end_date)
        codes = ({_category(c.strip(), status=400).code for c in service_code.split(",")
                  if c.strip()} if service_code else None)
        wanted = {s.strip().lower() for s in status.split(",")} if status else set()
        if wanted - {"open", "closed"}:
            raise Open311Error(400, f"status {status!r}: use open or closed.")
        statuses = exclude = None
        if wanted == {"closed"}:
            statuses = set(CLOSED_STATUSES)
        elif wanted == {"open"}:
            exclude = set(CLOSED_STATUSES)
        flt = crud.IncidentFilter(categories=codes, statuses=statuses, exclude_statuses=exclude,
                                  since=start, until=until, time_field="reported_at")
    total, rows = crud.list_incidents(session=session, filters=flt, limit=_MAX_REQUESTS)
    items = crud.incident_reads(session=session, incidents=rows, prefix=intake.id_prefix)
    return _render(fmt, [_request(i) for i in items], "service_requests", "request",
                   headers={"X-Total-Count": str(total)})


@router.get("/requests/{service_request_id}.{fmt}")
def read_request(service_request_id: str, fmt: Format, session: SessionDep,
                 intake: IntakeDep) -> Response:
    """One service request, as a list of one (the spec's shape)."""
    try:
        incident = crud.get_incident(session=session, incident_id=service_request_id,
                                     prefix=intake.id_prefix)
    except crud.NotFoundError:
        raise Open311Error(404, f"service_request_id {service_request_id!r} not found.") from None
    item = crud.incident_reads(session=session, incidents=[incident], prefix=intake.id_prefix)[0]
    return _render(fmt, [_request(item)], "service_requests", "request")
