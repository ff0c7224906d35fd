"""The organisation of the plan: read it (the stored version, or the bundled configuration
fitted to the active layer until the administrator stores one), replace it, and answer the
questions other domains ask: which group a community has, which department a matter goes to,
when the daily report is due.

The squads and the communities come from the active layer: a group per community, reporting
to the community's squad. A stored version that no longer fits the layer (a community added)
is refused on the next edit with the groups to add.
"""

from __future__ import annotations

import tomllib
from datetime import datetime, time
from pathlib import Path
from typing import Final

from pydantic import ValidationError
from sqlalchemy.orm import Session

from ..auth import service as auth_service
from ..core.audit import record
from ..core.errors import InvalidInputError
from ..incidents.service import CATEGORIES
from ..layers.service import ActiveLayer
from . import store
from .models import OrganisationVersion
from .schemas import MATTERS, Organisation, OrganisationRead, PostHolders

__all__ = [
    "MATTERS",
    "Organisation",
    "current_organisation",
    "default_organisation",
    "department_for",
    "organisation_read",
    "replace_organisation",
    "report_deadline",
]

_BUNDLED: Final = Path(__file__).resolve().parent / "data" / "qingshuihe.toml"


def default_organisation(layer: ActiveLayer, *, path: Path | None = None) -> Organisation:
    """The configuration file's organisation with the layer's squads and one group per
    community (the file's posts in each)."""
    source = path or _BUNDLED
    try:
        config = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInputError(
            "organisation_file",
            f"The organisation file {source} cannot be read: {exc}.",
            "fix the file (TOML), or unset JIEDAO_ORGANISATION_FILE for the bundled one.",
        ) from None
    communities = layer.pack.communities
    posts = config.pop("group_posts", [])
    squads = [
        {
            "code": code,
            "name": name,
            "communities": [str(c) for c in communities.loc[communities["squad"] == code, "code"]],
        }
        for code, name in layer.squad_names.items()
    ]
    groups = [
        {
            "community": str(row["code"]),
            "community_name": str(row["name_zh"]),
            "squad": str(row["squad"]),
            "posts": posts,
        }
        for row in communities.to_dict("records")
    ]
    try:
        organisation = Organisation.model_validate({**config, "squads": squads, "groups": groups})
    except ValidationError as exc:
        raise InvalidInputError(
            "organisation_file",
            f"The organisation file {source} is not valid: {exc.errors()[0]['msg']} "
            f"(at {'.'.join(str(p) for p in exc.errors()[0]['loc'])}).",
            "fix the file, or unset JIEDAO_ORGANISATION_FILE for the bundled one.",
        ) from None
    check_fits(organisation, layer)
    return organisation


def check_fits(organisation: Organisation, layer: ActiveLayer) -> None:
    """Refuse an organisation that does not fit the layer and the 21 categories, naming what
    to change."""
    communities = layer.pack.communities
    squad_of = dict(
        zip(communities["code"].astype(str), communities["squad"].astype(str), strict=True)
    )
    grouped = {g.community: g for g in organisation.groups}
    missing = sorted(set(squad_of) - set(grouped))
    unknown = sorted(set(grouped) - set(squad_of))
    if missing or unknown:
        raise InvalidInputError(
            "organisation.groups",
            "Every community of the active layer has one information group, and only those: "
            + "; ".join(
                part
                for part in (
                    f"no group for {', '.join(missing)}" if missing else "",
                    f"no such community: {', '.join(unknown)}" if unknown else "",
                )
                if part
            )
            + ".",
            f"list one group for each of {', '.join(sorted(squad_of))}.",
        )
    for group in organisation.groups:
        if group.squad != squad_of[group.community]:
            raise InvalidInputError(
                "organisation.groups",
                f"Group {group.community} reports to squad {group.squad}, but the layer puts "
                f"its community in squad {squad_of[group.community]}.",
                f"set its squad to {squad_of[group.community]}.",
            )
    unknown_squads = sorted({s.code for s in organisation.squads} - set(layer.squad_names))
    if unknown_squads:
        raise InvalidInputError(
            "organisation.squads",
            f"No such squad in the active layer: {', '.join(unknown_squads)}.",
            f"use the layer's squads: {', '.join(sorted(layer.squad_names))}.",
        )
    codes = {c.code for c in CATEGORIES}
    leads: dict[str, list[str]] = {}
    routes: dict[str, list[str]] = {}
    for department in organisation.departments:
        for code in department.categories:
            if code not in codes:
                raise InvalidInputError(
                    "organisation.departments",
                    f"Department {department.code} leads {code!r}, which is not a category.",
                    "use the codes of GET /categories (C01-C21).",
                )
            leads.setdefault(code, []).append(department.code)
        for matter in department.matters:
            routes.setdefault(matter, []).append(department.code)
    for what, needed, got in (
        ("category", sorted(codes), leads),
        ("matter", sorted(MATTERS), routes),
    ):
        unled = [c for c in needed if not got.get(c)]
        doubled = [f"{c} ({', '.join(got[c])})" for c in needed if len(got.get(c, [])) > 1]
        if unled or doubled:
            raise InvalidInputError(
                "organisation.departments",
                f"Each {what} has exactly one department: "
                + "; ".join(
                    p
                    for p in (
                        f"none for {', '.join(unled)}" if unled else "",
                        f"several for {', '.join(doubled)}" if doubled else "",
                    )
                    if p
                )
                + ".",
                f"give each {what} to one department.",
            )


def current_organisation(
    session: Session, layer: ActiveLayer, *, path: Path | None = None
) -> tuple[Organisation, OrganisationVersion | None]:
    """The stored organisation and its version, or the configuration's (version None)."""
    version = store.latest_version(session)
    if version is None:
        return default_organisation(layer, path=path), None
    return Organisation.model_validate(version.document), version


def replace_organisation(
    session: Session,
    organisation: Organisation,
    *,
    layer: ActiveLayer,
    actor: str,
    note: str | None,
    now: datetime,
    path: Path | None = None,
) -> OrganisationVersion:
    """Store ``organisation`` as the new version (checked against the layer), audited with
    what changed."""
    check_fits(organisation, layer)
    before, _ = current_organisation(session, layer, path=path)
    version = store.add_version(
        session,
        OrganisationVersion(
            document=organisation.model_dump(mode="json"),
            created_at=now,
            created_by=actor,
            note=note,
        ),
    )
    old, new = before.model_dump(mode="json"), organisation.model_dump(mode="json")
    changed = sorted(k for k in new if old.get(k) != new.get(k))
    record(
        session,
        actor=actor,
        action="organisation_update",
        entity="organisation",
        entity_id=version.id,
        before={k: old.get(k) for k in changed},
        after={k: new[k] for k in changed},
        detail={"note": note},
        at=now,
    )
    return version


def organisation_read(
    session: Session,
    organisation: Organisation,
    version: OrganisationVersion | None,
    *,
    now: datetime,
) -> OrganisationRead:
    """The organisation with who holds its role-linked posts now."""
    people = auth_service.enabled_people(session)
    holders = [
        PostHolders(
            community=group.community,
            post=post.post,
            role=post.role,
            usernames=[
                p.username for p in people if p.role == post.role and p.community == group.community
            ],
        )
        for group in organisation.groups
        for post in group.posts
        if post.role
    ]

    def of(role: str) -> list[str]:
        return [p.username for p in people if p.role == role]

    return OrganisationRead(
        version=version.id if version else 0,
        updated_at=version.created_at if version else now,
        updated_by=version.created_by if version else "configuration",
        note=version.note if version else "the bundled configuration; not edited yet",
        organisation=organisation,
        holders=holders,
        squad_leaders={
            s.code: [p.username for p in people if p.role == "squad_leader" and p.squad == s.code]
            for s in organisation.squads
        },
        case_team=of("case_team"),
        backup_team=of("backup_team"),
        matters=dict(MATTERS),
    )


def department_for(organisation: Organisation, code: str) -> str:
    """The department that leads category ``code`` or takes matter ``code``."""
    for department in organisation.departments:
        if code in department.categories or code in department.matters:
            return department.code
    raise KeyError(code)  # check_fits makes every category and matter have one


def report_deadline(organisation: Organisation) -> time:
    """The time of day the previous day's report is due."""
    hours, minutes = organisation.report_deadline.split(":")
    return time(int(hours), int(minutes))
