"""Case files as written (a document, an archive note, a typical-case summary) and as read."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, HttpUrl

from ..core.schemas import Input, LocationRead, ShortText

__all__ = [
    "ArchiveIn",
    "CaseEvent",
    "CaseFileList",
    "CaseFileRead",
    "CaseFileSummary",
    "CaseIncident",
    "DocumentIn",
    "DocumentKind",
    "DocumentRead",
    "TypicalIn",
]

DocumentKind = Literal["notice", "record", "evidence", "decision", "receipt", "photo", "other"]


class DocumentIn(Input):
    """A document of the case, kept elsewhere (the document system, the photo store)."""

    kind: DocumentKind = Field(
        description="notice 通知书, record 笔录, evidence, decision 决定书, receipt 送达回证, "
        "photo, other."
    )
    title: ShortText
    url: HttpUrl = Field(description="Where the document is kept.")


class ArchiveIn(Input):
    """Archiving a closed case (归档)."""

    note: str = Field("", max_length=2000, description="What the archive holds, if anything.")


class TypicalIn(Input):
    """Marking a case typical (典型案例) for reporting upward."""

    summary: str = Field(
        min_length=10,
        max_length=2000,
        description="What happened, what was done and why it is typical, in a few sentences.",
    )


class DocumentRead(BaseModel):
    """A document of the file, who added it and when."""

    id: int
    kind: str
    title: str
    url: str
    added_at: datetime
    added_by: str


class CaseIncident(BaseModel):
    """The incident as its case file shows it (``GET /incidents/{id}`` has every field)."""

    id: str
    number: int
    category: str
    category_name: str
    description: str
    photo_urls: list[str]
    address: str | None
    location: LocationRead
    community_code: str
    community_name: str
    squad: str
    source: str
    reporter: str | None = Field(description="Only for roles that may see who reported.")
    urgent: bool
    occurred_at: datetime
    reported_at: datetime


class CaseEvent(BaseModel):
    """One step of the case: what, who and when."""

    step: str
    status: str | None
    at: str | None
    actor: str
    note: str | None
    detail: dict[str, Any]


class CaseFileRead(BaseModel):
    """The whole file: the incident with its photos, the timeline, the clocks and outcome, the
    documents, and whether it is archived or typical."""

    incident: CaseIncident
    outcome: str = Field(description="The case's status in lifecycle terms.")
    clocks: dict[str, Any] = Field(description="As GET /incidents/{id}/clocks gives them.")
    timeline: list[CaseEvent]
    documents: list[DocumentRead]
    archived: bool
    archived_at: datetime | None
    archived_by: str | None
    archive_note: str | None
    typical: bool
    typical_summary: str | None
    typical_marked_by: str | None
    typical_marked_at: datetime | None


class CaseFileSummary(BaseModel):
    """One line of the case-file list."""

    id: str
    number: int
    category: str
    category_name: str
    community_code: str
    community_name: str
    squad: str
    source: str
    reported_at: datetime
    outcome: str
    documents: int
    archived: bool
    typical: bool
    typical_summary: str | None


class CaseFileList(BaseModel):
    """A page of case files and how many match in all."""

    total: int
    items: list[CaseFileSummary]
