"""Response models of Open311 GeoReport v2 (its JSON; the XML carries the same fields)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = [
    "Open311ErrorItem",
    "RequestCreated",
    "ServiceDefinition",
    "ServiceEntry",
    "ServiceRequest",
]


class Open311ErrorItem(BaseModel):
    """A GeoReport v2 error: its HTTP status and what is wrong."""

    code: int
    description: str


class ServiceEntry(BaseModel):
    """One service: an enforcement category."""

    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class ServiceDefinition(BaseModel):
    """A service definition: no service has extra attributes yet."""

    service_code: str
    attributes: list[dict[str, Any]]


class ServiceRequest(BaseModel):
    """A service request: an incident in GeoReport v2's terms."""

    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float
    long: float
    media_url: str | None


class RequestCreated(BaseModel):
    """The answer to a new service request."""

    service_request_id: str
    service_notice: str
    account_id: str | None
