"""Road network per layer version, and stored patrol plans.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_geospatial_table(
        "road_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("road_id", sa.String(length=80), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=True),
        sa.Column("road_class", sa.String(length=20), nullable=False),
        sa.Column("oneway", sa.Boolean(), nullable=False),
        sa.Column("key_road_id", sa.String(length=50), nullable=True),
        sa.Column("geom", Geometry(geometry_type="MULTILINESTRING", srid=4326, dimension=2,
                                   spatial_index=False, from_text="ST_GeomFromEWKT",
                                   name="geometry", nullable=False), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["layer_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "road_id"),
    )
    op.create_index("ix_road_segments_version_id", "road_segments", ["version_id"])
    op.create_geospatial_index("idx_road_segments_geom", "road_segments", ["geom"],
                               unique=False, postgresql_using="gist", postgresql_ops={})
    op.create_table(
        "patrol_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("squad", sa.String(length=50), nullable=False),
        sa.Column("plan_date", sa.String(length=10), nullable=False),
        sa.Column("shift", sa.String(length=10), nullable=False),
        sa.Column("layer_version_id", sa.Integer(), nullable=False),
        sa.Column("replan_of", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("request", _json(), nullable=False),
        sa.Column("plan", _json(), nullable=False),
        sa.ForeignKeyConstraint(["layer_version_id"], ["layer_versions.id"]),
        sa.ForeignKeyConstraint(["replan_of"], ["patrol_plans.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_patrol_plans_squad_date", "patrol_plans",
                    ["squad", "plan_date", "shift"])


def downgrade() -> None:
    op.drop_index("ix_patrol_plans_squad_date", table_name="patrol_plans")
    op.drop_table("patrol_plans")
    op.drop_geospatial_index("idx_road_segments_geom", "road_segments", column_name="geom",
                             postgresql_using="gist")
    op.drop_geospatial_table("road_segments")
