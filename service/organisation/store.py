"""Queries of the organisation domain. Never commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import OrganisationVersion

__all__ = ["add_version", "latest_version"]


def latest_version(session: Session) -> OrganisationVersion | None:
    """The newest organisation version, or None before the first start."""
    return session.scalar(
        select(OrganisationVersion).order_by(OrganisationVersion.id.desc()).limit(1)
    )


def add_version(session: Session, version: OrganisationVersion) -> OrganisationVersion:
    """Store a new version (flushed, so it has its id)."""
    session.add(version)
    session.flush()
    return version
