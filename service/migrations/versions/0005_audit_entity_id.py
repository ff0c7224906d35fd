"""The audit log's ``entity_id`` holds 200 characters (a username or an Open311 client's name
is up to 60: creating one was a 500 on PostgreSQL).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

SQLite does not enforce a VARCHAR's length, and recreating ``audit_log`` there (the only way to
change a column's declared type) would drop its append-only triggers; PostgreSQL alters the
column in place.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "audit_log", "entity_id", type_=sa.String(length=200), existing_nullable=True
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "audit_log", "entity_id", type_=sa.String(length=50), existing_nullable=True
        )
