"""The patrol plans table and the plan jobs that make them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import Base, JSONType, utcnow

__all__ = ["PatrolPlanRecord", "PlanJob"]


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


class PlanJob(Base):
    """A plan or re-plan being solved: its request, how far it is, and how it ended.

    A job is in the database, not in a worker's memory, so any worker answers for it; a running
    job's ``updated_at`` is its heartbeat (a job whose worker died stops beating).
    """

    __tablename__ = "plan_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # plan | replan
    squad: Mapped[str] = mapped_column(String(50))
    replan_of: Mapped[int | None] = mapped_column(ForeignKey("patrol_plans.id"))
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    phase: Mapped[str] = mapped_column(String(20), default="queued")
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("patrol_plans.id"))
    error: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, default=None)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
