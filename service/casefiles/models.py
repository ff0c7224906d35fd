"""The case-file tables: one file per filed incident, created on its first write, and the
documents added to it (references, not the files themselves)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.models import Base, utcnow

__all__ = ["DOCUMENT_KINDS", "CaseDocument", "CaseFile"]

# The papers of an enforcement case, in the order they are usually made.
DOCUMENT_KINDS: Final = (
    "notice",  # 责令改正通知书
    "record",  # 现场检查笔录 / 询问笔录
    "evidence",  # 证据材料
    "decision",  # 行政处罚决定书
    "receipt",  # 送达回证
    "photo",  # 现场照片 added after the report
    "other",
)


class CaseFile(Base):
    """What the case team keeps for one filed incident beyond the incident itself."""

    __tablename__ = "case_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    archived_at: Mapped[datetime | None]
    archived_by: Mapped[str | None] = mapped_column(String(200))
    archive_note: Mapped[str | None] = mapped_column(Text)
    typical: Mapped[bool] = mapped_column(Boolean, default=False)
    typical_summary: Mapped[str | None] = mapped_column(Text)
    typical_marked_by: Mapped[str | None] = mapped_column(String(200))
    typical_marked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    documents: Mapped[list[CaseDocument]] = relationship(
        back_populates="case_file", order_by="CaseDocument.id"
    )


class CaseDocument(Base):
    """A document of the case: its kind, title and where it is kept."""

    __tablename__ = "case_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_file_id: Mapped[int] = mapped_column(ForeignKey("case_files.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by: Mapped[str] = mapped_column(String(200))
    case_file: Mapped[CaseFile] = relationship(back_populates="documents")
