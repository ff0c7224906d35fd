"""Dispatch: units, roster, positions, recommendations, assignments, the case lifecycle, backup."""
