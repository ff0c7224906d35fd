"""The organisation, stored as versioned documents: each edit adds a version, the newest holds.

The organisation is read whole (the page, the routing of matters, the report deadline) and
edited rarely by the administrator, so one JSON document per version keeps the history with
no schema churn; the audit log says who changed what.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import Base, utcnow

__all__ = ["OrganisationVersion"]


class OrganisationVersion(Base):
    """One version of the organisation document (``schemas.Organisation``)."""

    __tablename__ = "organisation_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(500))
