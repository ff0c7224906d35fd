"""The organisation: read it (anyone signed in), replace it (the administrator)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ..auth.service import Principal, allow, require
from ..core.deps import NowDep, ReadSessionDep, SessionDep, SettingsDep
from ..core.errors import ERROR_RESPONSES
from ..layers.service import LayerDep
from . import service
from .schemas import OrganisationRead, OrganisationUpdate

__all__ = ["router"]

router = APIRouter(prefix="/organisation", tags=["organisation"], responses=ERROR_RESPONSES)


@router.get("", response_model=OrganisationRead, dependencies=[allow("reference:read")])
def read_organisation(
    session: ReadSessionDep, layer: LayerDep, settings: SettingsDep, now: NowDep
) -> OrganisationRead:
    """The leadership group, the enforcement team and its squads, one information group per
    community with its posts (and who holds the head's and the officer's), the member
    departments with the categories they lead and the matters forwarded to them."""
    organisation, version = service.current_organisation(
        session, layer, path=settings.organisation_file
    )
    return service.organisation_read(session, organisation, version, now=now)


@router.put("", response_model=OrganisationRead)
def replace_organisation(
    body: OrganisationUpdate,
    session: SessionDep,
    layer: LayerDep,
    settings: SettingsDep,
    now: NowDep,
    principal: Annotated[Principal, Depends(require("organisation:write"))],
) -> OrganisationRead:
    """Store a new version of the whole organisation (checked against the active layer and
    the 21 categories: one group per community, one department per category and matter)."""
    version = service.replace_organisation(
        session,
        body.organisation,
        layer=layer,
        actor=principal.name,
        note=body.note,
        now=now,
        path=settings.organisation_file,
    )
    return service.organisation_read(session, body.organisation, version, now=now)
