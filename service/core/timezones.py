"""Time zones the service answers in.

Shenzhen keeps Beijing time (UTC+08:00, no daylight saving): public ids take the year received
in it, and Open311 answers carry it.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Final

__all__ = ["BEIJING"]

BEIJING: Final = timezone(timedelta(hours=8), "CST")
