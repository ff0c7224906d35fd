"""Case files (案卷) and their documents.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08

One file per filed incident, written the first time the case team adds to it; documents are
references (title, kind, where kept), not the files.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_by", sa.String(length=200), nullable=True),
        sa.Column("archive_note", sa.Text(), nullable=True),
        sa.Column("typical", sa.Boolean(), nullable=False),
        sa.Column("typical_summary", sa.Text(), nullable=True),
        sa.Column("typical_marked_by", sa.String(length=200), nullable=True),
        sa.Column("typical_marked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id"),
    )
    op.create_table(
        "case_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_file_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["case_file_id"], ["case_files.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_documents_case_file_id", "case_documents", ["case_file_id"])


def downgrade() -> None:
    op.drop_table("case_documents")
    op.drop_table("case_files")
