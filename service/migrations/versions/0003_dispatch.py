"""Dispatch: units, duty roster, unit status events, positions, assignments, incident timeline,
backup requests.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

``assignments`` gets a partial unique index (one active assignment per incident), made the same
way on both databases as ``uq_layer_versions_one_active`` in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _unit_fk() -> list[sa.SchemaItem]:
    return [sa.Column("unit_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["unit_id"], ["units.id"])]


def _incident_fk() -> list[sa.SchemaItem]:
    return [sa.Column("incident_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"])]


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("squad", sa.String(length=50), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("members", _json(), nullable=False),
        sa.Column("home_station", sa.String(length=50), nullable=True),
        sa.Column("team", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        _time("status_at"),
        _time("last_at", nullable=True),
        _time("last_received_at", nullable=True),
        sa.Column("last_lon", sa.Float(), nullable=True),
        sa.Column("last_lat", sa.Float(), nullable=True),
        sa.Column("last_accuracy_m", sa.Float(), nullable=True),
        _time("created_at"),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_units_squad", "units", ["squad"])

    op.create_table(
        "duty_roster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("roster_date", sa.Date(), nullable=False),
        sa.Column("shift", sa.String(length=10), nullable=False),
        *_unit_fk(),
        _time("created_at"),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("roster_date", "shift", "unit_id"),
    )
    op.create_index("ix_duty_roster_unit_id", "duty_roster", ["unit_id"])

    op.create_table(
        "unit_status_events",
        sa.Column("id", sa.Integer(), nullable=False),
        *_unit_fk(),
        sa.Column("previous", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        _time("at"),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_unit_status_events_unit_at", "unit_status_events", ["unit_id", "at"])

    op.create_geospatial_table(
        "unit_positions",
        sa.Column("id", sa.Integer(), nullable=False),
        *_unit_fk(),
        _time("at"),
        _time("received_at"),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("geom", Geometry(geometry_type="POINT", srid=4326, dimension=2,
                                   spatial_index=False, from_text="ST_GeomFromEWKT",
                                   name="geometry", nullable=False), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("speed_mps", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit_id", "at", name="uq_unit_positions_unit_at"),
    )
    op.create_geospatial_index("idx_unit_positions_geom", "unit_positions", ["geom"],
                               unique=False, postgresql_using="gist", postgresql_ops={})

    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        *_incident_fk(),
        *_unit_fk(),
        _time("assigned_at"),
        sa.Column("assigned_by", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        _time("cancelled_at", nullable=True),
        sa.Column("cancelled_by", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    # One active assignment per incident: a partial unique index over the active rows.
    op.create_index("uq_assignments_one_active", "assignments", ["incident_id"], unique=True,
                    sqlite_where=sa.text("status = 'active'"),
                    postgresql_where=sa.text("status = 'active'"))
    op.create_index("ix_assignments_unit_id", "assignments", ["unit_id"])

    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer(), nullable=False),
        *_incident_fk(),
        sa.Column("step", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=True),
        _time("at"),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("detail", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incident_events_incident_at", "incident_events", ["incident_id", "at"])

    op.create_table(
        "backup_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        *_incident_fk(),
        _time("requested_at"),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("alerted", _json(), nullable=False),
        sa.Column("police_station", sa.String(length=50), nullable=True),
        _time("acknowledged_at", nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_backup_requests_incident_id", "backup_requests", ["incident_id"])


def downgrade() -> None:
    op.drop_table("backup_requests")
    op.drop_table("incident_events")
    op.drop_index("uq_assignments_one_active", table_name="assignments")
    op.drop_table("assignments")
    op.drop_geospatial_index("idx_unit_positions_geom", "unit_positions", column_name="geom",
                             postgresql_using="gist")
    op.drop_geospatial_table("unit_positions")
    op.drop_table("unit_status_events")
    op.drop_table("duty_roster")
    op.drop_table("units")
