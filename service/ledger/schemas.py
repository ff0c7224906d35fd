"""The ledger as written (findings, disputes, awards and their decisions) and as read (lines
and monthly statements)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ..core.schemas import Input

__all__ = [
    "AwardDecision",
    "AwardIn",
    "AwardRead",
    "CommunityStatement",
    "DisputeIn",
    "DisputeRead",
    "DisputeResolution",
    "FindingIn",
    "FindingRead",
    "LedgerLine",
    "LedgerRead",
    "Month",
    "PersonStatement",
]

Month = Annotated[str, Field(pattern=r"^20\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM.")]
AwardKind = Literal["tip", "major_information", "no_major_case", "other"]
Note = Annotated[str, Field(min_length=2, max_length=2000)]


class FindingIn(Input):
    """A spot check (抽查) found a report item wrong."""

    item: int = Field(ge=1, le=2**31 - 1, description="The item's id (GET /reports/daily/...).")
    note: Note = Field(description="What was wrong.")


class DisputeIn(Input):
    """An officer disputes an item counted as missed by them."""

    month: Month
    incident: str = Field(min_length=1, max_length=40, description="QSH-2026-000123.")
    reason: Note = Field(description="Why it is not theirs to report (outside duty, covered...).")


class DisputeResolution(Input):
    """The case team's resolution of a dispute."""

    upheld: bool = Field(description="True: the miss counts 0; false: it counts.")
    note: Note


class AwardIn(Input):
    """A one-off award the office grants an information officer."""

    person: str = Field(min_length=1, max_length=200, description="The officer's username.")
    month: Month
    kind: AwardKind = Field(
        description="tip (有价值线索, 100-300), major_information (重大信息), no_major_case "
        "(全年无重大案件), other."
    )
    amount: int = Field(ge=1, le=10_000, description="Yuan.")
    reason: Note


class AwardDecision(Input):
    """A leader's decision on a proposed award."""

    approve: bool
    note: str = Field("", max_length=2000)


class LedgerLine(BaseModel):
    """One amount and what it is for."""

    person: str
    community: str
    community_name: str
    kind: Literal["valid", "wrong", "duplicate", "missed", "award"]
    amount: int = Field(description="Yuan, + reward, - penalty.")
    day: str | None
    report: int | None = Field(description="The daily report the item is on.")
    item: str | None = Field(description="The item as day#number on its report.")
    incident: str | None
    category: str | None
    category_name: str | None
    note: str | None
    dispute: str | None = Field(description="A dispute of a missed item and where it stands.")


class CommunityStatement(BaseModel):
    """A community's month, its people together: items and yuan by kind, and the total."""

    community: str
    community_name: str
    valid_items: int
    valid_yuan: int
    wrong_items: int
    wrong_yuan: int
    duplicate_items: int
    duplicate_yuan: int
    missed_items: int
    missed_yuan: int
    award_items: int
    award_yuan: int
    total_yuan: int


class PersonStatement(CommunityStatement):
    """A person's month in their community."""

    person: str


class LedgerRead(BaseModel):
    """The month's statements, per person and per community, with the rules they follow."""

    month: str
    rules: dict[str, str]
    people: list[PersonStatement]
    communities: list[CommunityStatement]


class FindingRead(BaseModel):
    """A finding, who made it and when."""

    id: int
    item: int
    note: str
    found_by: str
    found_at: datetime


class DisputeRead(BaseModel):
    """A dispute and where it stands."""

    id: int
    incident: str
    person: str
    month: str
    reason: str
    filed_at: datetime
    status: str
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str | None


class AwardRead(BaseModel):
    """An award and its decision."""

    id: int
    person: str
    community: str
    month: str
    kind: str
    amount: int
    reason: str
    proposed_by: str
    proposed_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
