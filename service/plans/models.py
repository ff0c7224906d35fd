"""The patrol plans table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import Base, utcnow

__all__ = ["PatrolPlanRecord"]


class PatrolPlanRecord(Base):
    """A planned shift of one squad: the request, and the plan as the API returns it.

    Plans are documents read whole (briefings, GPX, the route map), so the plan is one JSON
    column; ``replan_of`` links a re-plan to the plan it replaces.
    """

    __tablename__ = "patrol_plans"
    __table_args__ = (Index("ix_patrol_plans_squad_date", "squad", "plan_date", "shift"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    squad: Mapped[str] = mapped_column(String(50))
    plan_date: Mapped[str] = mapped_column(String(10))
    shift: Mapped[str] = mapped_column(String(10))
    layer_version_id: Mapped[int] = mapped_column(ForeignKey("layer_versions.id"))
    replan_of: Mapped[int | None] = mapped_column(ForeignKey("patrol_plans.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
