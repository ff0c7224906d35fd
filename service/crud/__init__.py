"""CRUD functions over the ORM models; every function takes a keyword-only ``session``.

Conversion between ORM rows and API schemas happens here, via ``geoalchemy2.shape``.
"""

from . import audit as audit
from . import errors as errors
from . import incidents as incidents
from .audit import record
from .errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
    UnavailableError,
)
from .incidents import (
    IncidentFilter,
    IntakeParams,
    PublicId,
    create_incident,
    create_incidents_bulk,
    find_duplicates,
    get_incident,
    incident_reads,
    list_incidents,
    parse_public_id,
    public_id,
    request_fingerprint,
)

__all__ = [
    "ConflictError",
    "IncidentFilter",
    "IntakeParams",
    "InvalidInputError",
    "NotFoundError",
    "PublicId",
    "ServiceError",
    "UnavailableError",
    "audit",
    "create_incident",
    "create_incidents_bulk",
    "errors",
    "find_duplicates",
    "get_incident",
    "incident_reads",
    "incidents",
    "list_incidents",
    "parse_public_id",
    "public_id",
    "record",
    "request_fingerprint",
]
