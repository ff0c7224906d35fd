"""The organisation as versioned documents, and the daily information reports with their items.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

The organisation (groups, posts, departments) is read whole and edited rarely, so each edit is
one JSON document; a daily report is one row per community and day, its items below it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "organisation_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document", _json(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "daily_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community", sa.String(length=20), nullable=False),
        sa.Column("squad", sa.String(length=20), nullable=False),
        sa.Column("report_date", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("nothing_to_report", sa.Boolean(), nullable=False),
        sa.Column("filed_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_by", sa.String(length=200), nullable=True),
        sa.Column("return_note", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community", "report_date", name="uq_daily_reports_day"),
    )
    op.create_index("ix_daily_reports_report_date", "daily_reports", ["report_date"])
    op.create_table(
        "daily_report_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=10), nullable=True),
        sa.Column("matter", sa.String(length=30), nullable=True),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("routed_to", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["report_id"], ["daily_reports.id"]),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_daily_report_items_report_id", "daily_report_items", ["report_id"])
    op.create_index("ix_daily_report_items_incident_id", "daily_report_items", ["incident_id"])


def downgrade() -> None:
    op.drop_table("daily_report_items")
    op.drop_table("daily_reports")
    op.drop_table("organisation_versions")
