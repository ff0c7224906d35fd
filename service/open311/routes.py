"""Open311 GeoReport v2 routes over the same incidents (see :mod:`service.open311.service`):
thin, each parsing the form or query, calling the incidents service and rendering JSON or XML.
"""

from __future__ import annotations

from typing import Annotated, Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, Form, Header, Request
from fastapi.responses import JSONResponse, Response

from ..auth.service import PUBLIC, ApiClient, open311_client
from ..core.deps import SessionDep
from ..core.errors import NotFoundError, Open311Error, xml_response
from ..core.ratelimit import ThrottleDep
from ..incidents import service as incidents_service
from ..incidents.service import (
    CATEGORIES,
    CLOSED_STATUSES,
    OPEN_STATUSES,
    IntakeDep,
    request_fingerprint,
)
from ..layers.service import LayerDep
from . import service as open311_service
from .schemas import (
    Open311ErrorItem,
    RequestCreated,
    ServiceDefinition,
    ServiceEntry,
    ServiceRequest,
)
from .service import (
    CHANGESET,
    CONTACT,
    FORM_TYPES,
    KEY_SERVICE,
    ROUTE_PREFIX,
    Format,
    category_of,
    date_range,
    fill_xml,
    incident_from_form,
    notice,
    render,
    request_entry,
    request_ids,
    service_entry,
)

__all__ = ["discovery_router", "router"]

# GeoReport v2 answers every client error as 400 (or 404) in its own format.
_ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": list[Open311ErrorItem],
        "description": "A GeoReport v2 error list (or "
        "<errors> in XML): 400 for bad input, 404 for an unknown id, 429 over the "
        "intake rate limit (with Retry-After).",
        "content": {"application/xml": {"schema": {"type": "string"}}},
    }
}
router = APIRouter(prefix=ROUTE_PREFIX, tags=["open311"], responses=_ERRORS)
discovery_router = APIRouter(prefix="/open311", tags=["open311"], responses=_ERRORS)


# A form field of a GeoReport v2 POST: every field is optional text.
FormText = Annotated[str | None, Form()]


def _answer(model: Any, description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": description, "content": {"application/xml": {}}}}


@discovery_router.get(
    "/discovery.{fmt}",
    dependencies=[PUBLIC],
    response_class=Response,
    responses=_answer(dict[str, Any], "The discovery document."),
)
def discovery(fmt: Format, request: Request) -> Response:
    """GeoReport v2 service discovery: where the endpoint is and what it speaks."""
    base = str(request.base_url).rstrip("/")
    document = {
        "changeset": CHANGESET,
        "contact": CONTACT,
        "key_service": KEY_SERVICE,
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": f"{base}{router.prefix}",
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    if fmt == "json":
        return JSONResponse(document)
    root = ET.Element("discovery")
    fill_xml(root, document)
    return xml_response(root)


@router.get(
    "/services.{fmt}",
    dependencies=[PUBLIC],
    response_class=Response,
    responses=_answer(list[ServiceEntry], "The 21 categories."),
)
def list_services(fmt: Format) -> Response:
    """The service list: the 21 enforcement categories."""
    return render(fmt, [service_entry(c) for c in CATEGORIES], "services", "service")


@router.get(
    "/services/{service_code}.{fmt}",
    dependencies=[PUBLIC],
    response_class=Response,
    responses=_answer(ServiceDefinition, "A service definition."),
)
def read_service_definition(service_code: str, fmt: Format) -> Response:
    """A service definition; no service has extra attributes yet."""
    category = category_of(service_code, status=404)
    definition = {"service_code": category.code, "attributes": []}
    if fmt == "json":
        return JSONResponse(definition)
    tree = ET.Element("service_definition")
    fill_xml(tree, definition)
    return xml_response(tree)


def _form_body(request: Request) -> None:
    """GeoReport v2 POSTs are forms: a JSON body is a 400 that says so, before the key is
    looked for in it."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in FORM_TYPES:
        raise Open311Error(
            400,
            f"The request body is {media_type or 'missing'}: send the fields "
            "as application/x-www-form-urlencoded (or multipart/form-data), "
            "as GeoReport v2 says.",
        )


@router.post(
    "/requests.{fmt}",
    dependencies=[Depends(_form_body)],
    status_code=201,
    response_class=Response,
    responses={
        201: {
            "model": list[RequestCreated],
            "description": "Stored.",
            "content": {"application/xml": {}},
        }
    },
)
def create_request(
    fmt: Format,
    session: SessionDep,
    layer: LayerDep,
    intake: IntakeDep,
    throttle: ThrottleDep,
    client: Annotated[ApiClient, Depends(open311_client)],
    service_code: FormText = None,
    lat: FormText = None,
    long: FormText = None,
    address_string: FormText = None,
    description: FormText = None,
    media_url: FormText = None,
    account_id: FormText = None,
    device_id: FormText = None,
    crs: FormText = None,
    email: FormText = None,
    first_name: FormText = None,
    last_name: FormText = None,
    phone: FormText = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Create a service request (form-encoded, as the spec says).

    ``api_key`` (issued by the administrator) is required. ``email``, ``first_name``,
    ``last_name`` and ``phone`` are accepted and not stored.
    """
    del email, first_name, last_name, phone  # accepted per the spec, never stored
    form = {
        key: value
        for key, value in (
            ("service_code", service_code),
            ("lat", lat),
            ("long", long),
            ("address_string", address_string),
            ("description", description),
            ("media_url", media_url),
            ("account_id", account_id),
            ("device_id", device_id),
            ("crs", crs),
        )
        if value is not None
    }
    actor = f"open311:{client.name}"
    throttle.hit(actor)
    incident_in = incident_from_form(form)
    created, _ = incidents_service.create_incident(
        session=session,
        incident_in=incident_in,
        actor=actor,
        jurisdiction=layer.jurisdiction,
        layer_version_id=layer.version_id,
        params=intake,
        idempotency_key=idempotency_key,
        # The form, not the model: the model holds the receive time, which a retry changes.
        fingerprint=request_fingerprint(form, actor),
    )
    answer = {
        "service_request_id": created.id,
        "service_notice": notice(created),
        "account_id": account_id or None,
    }
    return render(fmt, [answer], "service_requests", "request", status_code=201)


@router.get(
    "/requests.{fmt}",
    dependencies=[PUBLIC],
    response_class=Response,
    responses=_answer(list[ServiceRequest], "Service requests, newest first."),
)
def list_requests(
    fmt: Format,
    session: SessionDep,
    intake: IntakeDep,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> Response:
    """Service requests, newest first; by default those of the last 90 days.

    At most 1000 are returned; the header ``X-Total-Count`` says how many match, so a client
    whose count is larger narrows start_date/end_date. A range may not span more than 90 days.
    ``end_date`` is inclusive to the second; send a zone's ``+`` as ``%2B``.
    """
    if service_request_id:
        flt = incidents_service.IncidentFilter(
            public_ids=request_ids(service_request_id, intake.id_prefix), time_field="reported_at"
        )
    else:
        start, until = date_range(start_date, end_date)
        codes = (
            {category_of(c.strip(), status=400).code for c in service_code.split(",") if c.strip()}
            if service_code
            else None
        )
        wanted = {s.strip().lower() for s in status.split(",")} if status else set()
        if wanted - {"open", "closed"}:
            raise Open311Error(400, f"status {status!r}: use open or closed.")
        statuses = None
        if wanted == {"closed"}:
            statuses = set(CLOSED_STATUSES)
        elif wanted == {"open"}:
            statuses = set(OPEN_STATUSES)
        flt = incidents_service.IncidentFilter(
            categories=codes,
            statuses=statuses,
            since=start,
            until=until,
            time_field="reported_at",
        )
    total, rows = incidents_service.list_incidents(
        session=session, filters=flt, limit=open311_service.MAX_REQUESTS
    )
    items = incidents_service.incident_reads(
        session=session, incidents=rows, prefix=intake.id_prefix
    )
    return render(
        fmt,
        [request_entry(i) for i in items],
        "service_requests",
        "request",
        headers={"X-Total-Count": str(total)},
    )


@router.get(
    "/requests/{service_request_id}.{fmt}",
    dependencies=[PUBLIC],
    response_class=Response,
    responses=_answer(list[ServiceRequest], "One service request, as a list."),
)
def read_request(
    service_request_id: str, fmt: Format, session: SessionDep, intake: IntakeDep
) -> Response:
    """One service request, as a list of one (the spec's shape)."""
    try:
        incident = incidents_service.get_incident(
            session=session, incident_id=service_request_id, prefix=intake.id_prefix
        )
    except NotFoundError:
        raise Open311Error(404, f"service_request_id {service_request_id!r} not found.") from None
    item = incidents_service.incident_reads(
        session=session, incidents=[incident], prefix=intake.id_prefix
    )[0]
    return render(fmt, [request_entry(item)], "service_requests", "request")
