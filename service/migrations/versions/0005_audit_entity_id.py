"""The audit log's ``entity_id`` holds 200 characters (a username or an Open311 client's name
is up to 60: creating one was a 500 on PostgreSQL).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

PostgreSQL alters the column in place. SQLite can only change a column's type by copying the
table (Alembic's batch mode), which drops its triggers: the append-only triggers of 0004 are
made again on the copy, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MESSAGE = "audit_log is append-only: its rows cannot be changed or deleted"


def _resize(length: int) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "audit_log", "entity_id", type_=sa.String(length=length), existing_nullable=True
        )
        return
    with op.batch_alter_table("audit_log", recreate="always") as batch:
        batch.alter_column("entity_id", type_=sa.String(length=length), existing_nullable=True)
    for event in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{event.lower()}")
        op.execute(
            f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
            f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
        )


def upgrade() -> None:
    _resize(200)


def downgrade() -> None:
    _resize(50)
