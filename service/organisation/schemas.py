"""The organisation document (what ``GET /organisation`` returns and ``PUT`` takes) and the
matters outside the 21 categories that the enforcement team forwards.

The document's own rules are checked here (unique codes and posts, a head and an information
officer in every group); the rules that need the active layer or the category list (one group
per community, each category led by one department) are checked by the service.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from ..core.schemas import Input, ShortText

__all__ = [
    "MATTERS",
    "Department",
    "InfoGroup",
    "Leadership",
    "Matter",
    "Organisation",
    "OrganisationRead",
    "OrganisationUpdate",
    "Post",
    "PostHolders",
    "SquadEntry",
    "Team",
]

# Matters an information report covers besides the 21 categories (附件三: 治安、出租屋、工商).
Matter = Literal["public_order", "rental_housing", "business_licence"]
MATTERS: Final[dict[str, str]] = {
    "public_order": "治安 public order",
    "rental_housing": "出租屋 rental housing",
    "business_licence": "工商执照 business licence",
}
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="a-z, 0-9 and _.")]
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class Post(Input):
    """A post in a community information group; ``role`` links it to the users of that role
    and community (the head's ``group_head``, the officer's ``info_officer``)."""

    post: Code
    title: ShortText
    role: Literal["group_head", "info_officer"] | None = None


class InfoGroup(Input):
    """A community information group (社区综合执法信息组): its community, the squad it reports
    to, and its posts."""

    community: Annotated[str, Field(min_length=1, max_length=20)]
    community_name: ShortText
    squad: Annotated[str, Field(min_length=1, max_length=20)]
    posts: Annotated[list[Post], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _posts(self) -> InfoGroup:
        names = [p.post for p in self.posts]
        if len(set(names)) != len(names):
            raise ValueError(f"group {self.community} lists a post twice: {names}.")
        roles = [p.role for p in self.posts if p.role]
        for role in ("group_head", "info_officer"):
            if roles.count(role) != 1:
                raise ValueError(
                    f"group {self.community} needs exactly one post with role {role} "
                    f"(the head checks the report the information officer files)."
                )
        return self


class Department(Input):
    """A member department: the categories it leads and the matters forwarded to it."""

    code: Code
    name: ShortText
    categories: Annotated[list[str], Field(default_factory=list, max_length=21)]
    matters: Annotated[list[Matter], Field(default_factory=list, max_length=3)]


class Leadership(Input):
    """The leadership group (领导小组) and its office."""

    title: ShortText
    chair: ShortText
    deputy: ShortText
    office: ShortText


class Team(Input):
    """The sub-district enforcement team and its parts besides the squads."""

    title: ShortText
    head: ShortText
    case_team: ShortText
    backup_team: ShortText
    police_station: ShortText


class SquadEntry(Input):
    """A patrol squad (from the active layer) and the communities it answers for."""

    code: Annotated[str, Field(min_length=1, max_length=20)]
    name: ShortText
    communities: list[str]


class Organisation(Input):
    """The whole organisation of the plan, by role title (no personal names)."""

    name: ShortText
    source: ShortText
    report_deadline: str = Field(
        "09:30", description="HH:MM, Beijing time: the previous day's report is due by then."
    )
    leadership: Leadership
    team: Team
    squads: Annotated[list[SquadEntry], Field(min_length=1, max_length=20)]
    groups: Annotated[list[InfoGroup], Field(min_length=1, max_length=200)]
    departments: Annotated[list[Department], Field(min_length=1, max_length=100)]

    @field_validator("report_deadline")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"{value!r} is not a time of day; give it as HH:MM, e.g. 09:30.")
        return value

    @model_validator(mode="after")
    def _unique(self) -> Organisation:
        for what, codes in (
            ("department", [d.code for d in self.departments]),
            ("group community", [g.community for g in self.groups]),
            ("squad", [s.code for s in self.squads]),
        ):
            twice = sorted({c for c in codes if codes.count(c) > 1})
            if twice:
                raise ValueError(f"{what} listed twice: {', '.join(twice)}.")
        return self


class OrganisationUpdate(Input):
    """A new version of the organisation, with why it changed."""

    organisation: Organisation
    note: ShortText | None = None


class PostHolders(BaseModel):
    """Who holds a role-linked post now: the enabled users of that role and community."""

    community: str
    post: str
    role: str
    usernames: list[str]


class OrganisationRead(BaseModel):
    """The current organisation, its version, and who holds the role-linked posts."""

    version: int
    updated_at: datetime
    updated_by: str
    note: str | None
    organisation: Organisation
    holders: list[PostHolders]
    squad_leaders: dict[str, list[str]]
    case_team: list[str]
    backup_team: list[str]
    matters: dict[str, str]
