"""Incidents: intake, resolution, duplicates, categories and queries."""
