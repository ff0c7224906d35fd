"""Initial schema: layer versions and their features, incidents, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Spatial tables use GeoAlchemy2's Alembic operations: ``create_geospatial_table`` registers the
geometry columns (``RecoverGeometryColumn`` on SpatiaLite) and ``create_geospatial_index`` makes
an R*Tree (SpatiaLite, ``CreateSpatialIndex``) or a GiST index (PostGIS).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FEATURE_TABLES = ("communities", "key_roads", "stations", "places")


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _geom(geometry_type: str) -> sa.Column:
    # spatial_index=False: the index is created explicitly below, the same way on both databases.
    return sa.Column("geom", Geometry(geometry_type=geometry_type, srid=4326, dimension=2,
                                      spatial_index=False, from_text="ST_GeomFromEWKT",
                                      name="geometry", nullable=False), nullable=False)


def _version_fk() -> list[sa.SchemaItem]:
    return [sa.Column("version_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["version_id"], ["layer_versions.id"], ondelete="CASCADE")]


def _spatial_index(table: str) -> None:
    op.create_geospatial_index(f"idx_{table}_geom", table, ["geom"], unique=False,
                               postgresql_using="gist", postgresql_ops={})


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        _time("at"),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("entity", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.String(length=50), nullable=True),
        sa.Column("detail", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"])

    op.create_table(
        "layer_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=201), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("metadata", _json(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _time("created_at"),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _time("activated_at", nullable=True),
        sa.Column("activated_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("label"),
    )
    # Exactly one active version: a partial unique index over the rows where active is true.
    op.create_index("uq_layer_versions_one_active", "layer_versions", ["active"], unique=True,
                    sqlite_where=sa.text("active"), postgresql_where=sa.text("active"))

    op.create_geospatial_table(
        "communities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_pinyin", sa.String(length=100), nullable=True),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("aliases", _json(), nullable=False),
        sa.Column("squad", sa.String(length=50), nullable=False),
        _geom("MULTIPOLYGON"),
        *_version_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "code"),
    )
    op.create_table(
        "squads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("base_station", sa.String(length=50), nullable=True),
        *_version_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "code"),
    )
    op.create_geospatial_table(
        "key_roads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("road_id", sa.String(length=50), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_pinyin", sa.String(length=100), nullable=True),
        sa.Column("road_class", sa.String(length=50), nullable=True),
        sa.Column("squad", sa.String(length=50), nullable=False),
        _geom("MULTILINESTRING"),
        *_version_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "road_id"),
    )
    op.create_geospatial_table(
        "stations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("squad", sa.String(length=50), nullable=True),
        _geom("POINT"),
        *_version_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "code"),
    )
    op.create_geospatial_table(
        "places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.String(length=50), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=True),
        sa.Column("community", sa.String(length=20), nullable=True),
        _geom("POINT"),
        *_version_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "place_id"),
    )
    for table in ("squads", *_FEATURE_TABLES):
        op.create_index(f"ix_{table}_version_id", table, ["version_id"])
    for table in _FEATURE_TABLES:
        _spatial_index(table)

    op.create_geospatial_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=10), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("photo_urls", _json(), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        _geom("POINT"),
        sa.Column("input_crs", sa.String(length=10), nullable=False),
        sa.Column("input_lon", sa.Float(), nullable=False),
        sa.Column("input_lat", sa.Float(), nullable=False),
        _time("occurred_at"),
        _time("reported_at"),
        _time("received_at"),
        _time("updated_at"),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("reporter", sa.String(length=200), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("status_notes", sa.Text(), nullable=True),
        sa.Column("layer_version_id", sa.Integer(), nullable=False),
        sa.Column("community_code", sa.String(length=20), nullable=False),
        sa.Column("community_name", sa.String(length=100), nullable=False),
        sa.Column("community_squad", sa.String(length=50), nullable=False),
        sa.Column("squad", sa.String(length=50), nullable=False),
        sa.Column("key_road_id", sa.String(length=50), nullable=True),
        sa.Column("key_road_name", sa.String(length=100), nullable=True),
        sa.Column("key_road_m", sa.Float(), nullable=True),
        sa.Column("boundary_m", sa.Float(), nullable=True),
        sa.Column("near_boundary", sa.Boolean(), nullable=False),
        sa.Column("outside", sa.Boolean(), nullable=False),
        sa.Column("nearest_community_code", sa.String(length=20), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["layer_version_id"], ["layer_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    _spatial_index("incidents")
    op.create_index("ix_incidents_category_status", "incidents", ["category", "status"])
    op.create_index("ix_incidents_community_code", "incidents", ["community_code"])
    op.create_index("ix_incidents_layer_version_id", "incidents", ["layer_version_id"])
    op.create_index("ix_incidents_occurred_at", "incidents", ["occurred_at"])
    op.create_index("ix_incidents_squad", "incidents", ["squad"])


def downgrade() -> None:
    for table in ("incidents", *_FEATURE_TABLES):
        op.drop_geospatial_index(f"idx_{table}_geom", table, column_name="geom",
                                 postgresql_using="gist")
    op.drop_geospatial_table("incidents")
    for table in reversed(_FEATURE_TABLES):
        op.drop_geospatial_table(table)
    op.drop_table("squads")
    op.drop_table("layer_versions")
    op.drop_table("audit_log")
