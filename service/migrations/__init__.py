"""Alembic migrations of the jiedao schema (run by service.core.db.migrate)."""
