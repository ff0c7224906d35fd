"""An index on (status, reported_at): the dispatcher's queue among a million closed cases.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

The console polls the open cases every few seconds. With 10^6 stored incidents the query read
every row (p50 97 ms already at 10^5 on PostGIS); by status and time it reads the open ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_incidents_status_reported_at", "incidents", ["status", "reported_at"])


def downgrade() -> None:
    op.drop_index("ix_incidents_status_reported_at", table_name="incidents")
