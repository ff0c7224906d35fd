"""Case statistics as read: indicator rows, their totals, and the cases behind them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final, Literal

from pydantic import BaseModel, Field

__all__ = [
    "DIMENSIONS",
    "AppraisalRead",
    "CaseRecordRead",
    "CaseStatisticsRead",
    "Dimension",
    "IndicatorRow",
    "OfficerYear",
    "UnitYear",
]

Dimension = Literal["community", "squad", "category", "source", "month"]
DIMENSIONS: Final[tuple[Dimension, ...]] = ("community", "squad", "category", "source", "month")


class IndicatorRow(BaseModel):
    """The indicators of one group (the keys of the grouping are set, the others null)."""

    community: str | None = None
    community_name: str | None = None
    squad: str | None = None
    category: str | None = None
    category_name: str | None = None
    source: str | None = None
    month: str | None = Field(None, description="YYYY-MM, Beijing time.")
    reports: int = Field(description="上报数: incidents reported in the period.")
    valid: int = Field(description="有效上报: reports not rejected or duplicate.")
    invalid: int = Field(description="无效上报: rejected or duplicate.")
    filed: int = Field(description="立案数: accepted or dispatched.")
    closed: int = Field(description="结案数: filed and verified closed by the cut-off.")
    due: int = Field(description="应结案数: filed, time limit ended by the cut-off or closed.")
    closed_on_time: int = Field(description="按期结案数: closed by the due time.")
    handled: int = Field(description="处置数: recorded handled.")
    reworked: int = Field(description="返工数: reopened at least once.")
    overdue: int = Field(description="超期: past due unclosed, or closed after due.")
    parked: int = Field(description="挂账: parked at the cut-off.")
    closure_rate: float | None = Field(description="结案率 = closed / filed.")
    on_time_closure_rate: float | None = Field(description="按期结案率 = closed on time / due.")
    rework_rate: float | None = Field(description="返工率 = reworked / handled.")


class CaseStatisticsRead(BaseModel):
    """The indicators of a period grouped as asked, with their totals."""

    start: date
    end: date
    cutoff: datetime = Field(description="The end of the period, or now if that is earlier.")
    by: list[Dimension]
    rows: list[IndicatorRow]
    total: IndicatorRow


class CaseRecordRead(BaseModel):
    """One case behind the indicators, with what it counts as."""

    id: str
    number: int
    reported_at: str
    month: str
    community: str
    community_name: str
    squad: str
    category: str
    category_name: str
    source: str
    status: str
    filed_at: str | None
    due_at: str | None
    closed_at: str | None
    valid: bool
    invalid: bool
    filed: bool
    closed: bool
    due: bool
    closed_on_time: bool
    handled: bool
    reworked: bool
    overdue: bool
    parked: bool


class OfficerYear(BaseModel):
    """An information officer's year."""

    person: str
    community: str
    community_name: str | None
    reports_filed: int = Field(description="Daily reports submitted.")
    reports_on_time: int = Field(description="Approved by the deadline.")
    on_time_share: float | None
    items: int
    valid_items: int
    valid_share: float | None = Field(description="Valid / (valid + wrong).")
    wrong_items: int
    missed_items: int
    total_yuan: int = Field(description="The year's ledger total.")


class UnitYear(BaseModel):
    """An enforcement unit's year: the filed cases it had last."""

    unit: str
    filed: int
    handled: int
    closed: int
    due: int
    closed_on_time: int
    on_time_closure_rate: float | None
    reworked: int
    rework_rate: float | None
    overdue: int


class AppraisalRead(BaseModel):
    """The year's figures for the appraisal (年度考核)."""

    year: int
    officers: list[OfficerYear]
    units: list[UnitYear]
