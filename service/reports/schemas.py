"""Daily reports as filed and read, and the compliance table (on time, late, missing)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from ..core.schemas import Input, Location, ShortText

__all__ = [
    "ComplianceDay",
    "ComplianceRead",
    "ComplianceTotals",
    "DailyReportPut",
    "DailyReportRead",
    "ReportItemIn",
    "ReportItemRead",
    "ReportReturn",
    "ReportState",
]

ReportStatus = Literal["draft", "submitted", "approved", "returned"]
# Where a community's report of a day stands against the deadline.
ReportState = Literal["on_time", "late", "missing", "pending"]
Matter = Literal["public_order", "rental_housing", "business_licence"]


class ReportItemIn(Input):
    """One problem seen that day: a category of the 21, or a matter for another department."""

    category: str | None = Field(None, description="C01..C21 (GET /categories).")
    matter: Matter | None = Field(
        None, description="Outside the 21: public_order, rental_housing or business_licence."
    )
    location: Location
    discovered_at: AwareDatetime = Field(description="When it was seen, with zone.")
    urgent: bool = Field(
        False, description="Needed immediate handling (to be reported within 15 minutes)."
    )
    description: str = Field("", max_length=2000)
    incident: Annotated[str, Field(min_length=1, max_length=40)] | None = Field(
        None, description="The incident already filed for it (QSH-2026-000123), if any."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> ReportItemIn:
        if (self.category is None) == (self.matter is None):
            raise ValueError(
                "give either category (one of the 21) or matter (public_order, "
                "rental_housing, business_licence), not both or neither."
            )
        if self.matter is not None and self.incident is not None:
            raise ValueError("a matter outside the 21 categories has no incident to link.")
        return self


class DailyReportPut(Input):
    """The day's report as the officer has it now: its items, or nothing to report."""

    nothing_to_report: bool = False
    items: Annotated[list[ReportItemIn], Field(max_length=200)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _items_or_nothing(self) -> DailyReportPut:
        if self.nothing_to_report and self.items:
            raise ValueError("a report with items is not 'nothing to report'; drop one of them.")
        if not self.nothing_to_report and not self.items:
            raise ValueError(
                "a report lists its items, or says nothing_to_report: true (无情况上报)."
            )
        return self


class ReportReturn(Input):
    """Why the head returns a report to the officer."""

    note: ShortText


class ReportItemRead(BaseModel):
    """An item as stored: what became of it (its incident, or the department it went to)."""

    id: int = Field(description="The item's id (a spot-check finding names it).")
    seq: int
    category: str | None
    matter: str | None
    lon: float
    lat: float
    discovered_at: datetime
    urgent: bool
    description: str
    incident: str | None
    routed_to: str | None
    report_delay_s: float | None = Field(
        description="Discovery to report (the incident's report time, else the submission)."
    )
    within_15_min: bool | None = Field(description="For urgent items: the 15-minute rule met.")


class DailyReportRead(BaseModel):
    """A community's report of one day and where it stands."""

    community: str
    community_name: str
    squad: str
    date: date
    status: ReportStatus
    state: ReportState
    deadline: datetime
    nothing_to_report: bool
    filed_by: str
    submitted_at: datetime | None
    approved_at: datetime | None
    approved_by: str | None
    returned_at: datetime | None
    returned_by: str | None
    return_note: str | None
    items: list[ReportItemRead]
    urgent_late: int = Field(description="Urgent items not reported within 15 minutes.")


class ComplianceDay(BaseModel):
    """One community on one day."""

    community: str
    date: date
    state: ReportState
    status: ReportStatus | None
    items: int
    nothing_to_report: bool
    urgent_late: int
    approved_at: datetime | None


class ComplianceTotals(BaseModel):
    """A community's days in the period by state."""

    community: str
    community_name: str
    squad: str
    on_time: int
    late: int
    missing: int
    pending: int
    items: int
    urgent_late: int
    on_time_share: float | None = Field(description="On time of the days already due (0-1).")


class ComplianceRead(BaseModel):
    """Daily-report compliance for a period: per community and day, and totals."""

    start: date
    end: date
    deadline: str
    days: list[ComplianceDay]
    totals: list[ComplianceTotals]
