"""Patrol plans per shift: planning, re-planning, exports and dosage."""
