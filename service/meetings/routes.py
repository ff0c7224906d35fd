"""The monthly meeting's pack as a page or a PDF."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from ..auth.service import Principal, require
from ..core.chromium import pdf_document
from ..core.deps import NowDep, ReadSessionDep, SettingsDep
from ..core.errors import ERROR_RESPONSES, errors
from ..core.timezones import BEIJING
from ..incidents.service import IntakeDep
from ..layers.service import LayerDep
from ..ledger import service as ledger_service
from ..organisation import service as organisation_service
from ..pages.service import with_demo_banner
from . import service

__all__ = ["router"]

router = APIRouter(prefix="/meetings", tags=["meetings"], responses=ERROR_RESPONSES)


@router.get(
    "/monthly",
    response_class=HTMLResponse,
    responses={**errors(422, 503), 200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
def monthly_pack(
    session: ReadSessionDep,
    layer: LayerDep,
    settings: SettingsDep,
    intake: IntakeDep,
    now: NowDep,
    principal: Annotated[Principal, Depends(require("statistics:read"))],
    month: Annotated[
        str | None,
        Query(pattern=r"^20\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM (default: last month)."),
    ] = None,
    format: Annotated[Literal["html", "pdf"], Query(description="html or pdf (A4).")] = "html",
    map: Annotated[bool, Query(description="Draw the hot-spot map (a few seconds).")] = True,
) -> Response:
    """The month's pack for the meeting: indicators per community and squad with the change
    against last month and the year to date, overdue and parked cases, daily-report
    compliance, the ledger per community, the hot-spot map and campaign targets."""
    today = now.astimezone(BEIJING).date()
    wanted = month or service.previous_month(today.replace(day=1))[0].strftime("%Y-%m")
    organisation, _ = organisation_service.current_organisation(
        session, layer, path=settings.organisation_file
    )
    pack = service.monthly_pack(
        session,
        principal,
        month=wanted,
        layer=layer,
        organisation=organisation,
        calendar=settings.working_calendar(),
        ledger_params=ledger_service.params_of(settings),
        prefix=intake.id_prefix,
        now=now,
        with_map=map,
        tianditu_key=settings.tianditu_key,
    )
    link = "/meetings/monthly?" + urlencode({"month": wanted, "format": "pdf", "map": map})
    page = service.pack_html(
        pack, squad_names=layer.squad_names, pdf_link=None if format == "pdf" else link
    )
    if format == "pdf":
        return Response(
            pdf_document(page),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="pack-{wanted}.pdf"'},
        )
    return HTMLResponse(with_demo_banner(page, demo=settings.demo))
