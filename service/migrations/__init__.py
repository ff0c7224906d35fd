"""Alembic migrations of the jiedao schema (run by service.db.migrate)."""
