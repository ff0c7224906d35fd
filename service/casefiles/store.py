"""Queries of the case files. Never commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .models import CaseFile

__all__ = ["file_of", "files_of"]


def file_of(session: Session, incident_id: int, *, lock: bool = False) -> CaseFile | None:
    """The incident's case file with its documents, or None if none was written yet."""
    query = (
        select(CaseFile)
        .where(CaseFile.incident_id == incident_id)
        .options(selectinload(CaseFile.documents))
    )
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def files_of(session: Session, incident_ids: Sequence[int]) -> dict[int, CaseFile]:
    """The files written for these incidents, by incident id (in chunks: an IN list stays
    short enough for either database)."""
    found: dict[int, CaseFile] = {}
    ids = list(incident_ids)
    for first in range(0, len(ids), 500):
        query = (
            select(CaseFile)
            .where(CaseFile.incident_id.in_(ids[first : first + 500]))
            .options(selectinload(CaseFile.documents))
        )
        found.update({f.incident_id: f for f in session.scalars(query)})
    return found
