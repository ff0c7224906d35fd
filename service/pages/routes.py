"""The pages: sign-in (``/login``, ``/logout``), the jurisdiction map (``/``), the
dispatcher's console (``/console``), the planning page (``/plan``) and the work pages of the
information groups and the case team (``/report``, ``/report/review``, ``/cases``).

The console (调度台) is a live page of open incidents, units, recommendations and assignment,
built on the JSON API alone (``/static/console/console.js`` polls it) with the page's cookie
session; its writes carry the page's CSRF token. Every asset is served from ``/static`` so the
pages work on an intranet without internet access. A page asked for without a session
redirects to ``/login``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from maps import render_jurisdiction
from maps.assets import offline_html
from maps.labels import page_labels

from ..auth import service as auth_service
from ..auth.service import COOKIE_NAME, PUBLIC, Principal, permissions_of, require
from ..core.deps import SessionDep, SettingsDep
from ..core.errors import ERROR_RESPONSES, TooManyRequestsError, errors
from ..incidents import service as incidents_service
from ..layers.service import LayerDep
from .service import render, with_demo_banner

__all__ = ["router"]

router = APIRouter(responses=ERROR_RESPONSES)
_NO_STORE = {"Cache-Control": "no-store"}
_WRONG = "用户名或密码不正确 Incorrect username or password."


def _safe_next(target: str | None) -> str:
    """A local path to go to after signing in (never another site); empty: the role's page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return ""
    return target


def _script_json(data: object) -> Markup:
    """JSON for a ``<script type="application/json">``: no "<" may close the script, whatever a
    title holds."""
    return Markup(json.dumps(data, ensure_ascii=False).replace("<", "\\u003c"))


def _landing(role: str) -> str:
    """Where a role lands after signing in without asking for a page."""
    can = permissions_of(role)
    if "plans:create" in can:
        return "/plan"
    if "reports:file" in can:
        return "/report"
    if "reports:approve" in can:
        return "/report/review"
    if "console:open" in can:
        return "/console"
    return "/" if "map:read" in can else "/docs"


def _login_page(
    *, demo: bool, next_path: str, message: str = "", username: str = "", status: int = 200
) -> HTMLResponse:
    page = render("login.html.j2", demo=demo, next=next_path, message=message, username=username)
    return HTMLResponse(page, status_code=status, headers=_NO_STORE)


@router.get("/login", response_class=HTMLResponse, tags=["auth"], dependencies=[PUBLIC])
def login_page(
    settings: SettingsDep, next: Annotated[str | None, Query(max_length=500)] = None
) -> HTMLResponse:
    """The sign-in page."""
    return _login_page(demo=settings.demo, next_path=_safe_next(next))


@router.post(
    "/login",
    response_class=HTMLResponse,
    tags=["auth"],
    dependencies=[PUBLIC],
    responses=errors(401, 403, 429),
)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=60)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    """Sign in from the page: an HttpOnly, SameSite cookie session (Secure over HTTPS), then
    back to ``next``. A form posted from another site is refused."""
    next_path = _safe_next(next)
    if not auth_service.same_origin(request):
        return _login_page(
            demo=settings.demo,
            next_path=next_path,
            message="登录须在本站页面进行 Sign in from this site's login page.",
            status=403,
        )
    try:
        signed_in = auth_service.sign_in(
            session,
            settings,
            username=username,
            password=password,
            address=request.client.host if request.client else None,
            kind="cookie",
        )
    except TooManyRequestsError as exc:
        page = _login_page(
            demo=settings.demo, next_path=next_path, message=f"{exc.message} {exc.fix}", status=429
        )
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    if signed_in is None:
        # Answered, not raised: the failed attempt's audit row must be committed.
        return _login_page(
            demo=settings.demo, next_path=next_path, message=_WRONG, username=username, status=401
        )
    response = RedirectResponse(next_path or _landing(signed_in.user.role), status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        auth_service.cookie_token(signed_in, key=request.app.state.signing_key),
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
        path="/",
    )
    return response


@router.post(
    "/logout",
    tags=["auth"],
    dependencies=[PUBLIC],
    status_code=303,
    response_class=RedirectResponse,
    responses={303: {"description": "Signed out: back to the login page."}},
)
def logout(
    request: Request,
    session: SessionDep,
    csrf_token: Annotated[str | None, Form(max_length=100)] = None,
) -> Response:
    """Sign out of the page session (the form's CSRF token must match), back to the login."""
    principal = auth_service.page_principal(request, session)
    if principal is not None and auth_service.csrf_ok(request, principal, csrf_token):
        auth_service.sign_out(session, principal)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


@router.get("/", response_class=HTMLResponse, tags=["map"])
def jurisdiction_map(
    session: SessionDep,
    settings: SettingsDep,
    layer: LayerDep,
    principal: Annotated[Principal, Depends(require("map:read"))],
    basemap: Literal["osm", "tianditu", "amap"] = "osm",
    days: int = Query(7, ge=0, le=366),
) -> HTMLResponse:
    """The jurisdiction map with the incidents of the last ``days`` days (an information
    officer's: their community's; a squad leader's: their squad's)."""
    since = datetime.now(UTC) - timedelta(days=days)
    scope = auth_service.incident_scope(principal)
    incidents = incidents_service.map_frame(
        session, since=since, community=scope.community, squad=scope.squad
    )
    pages = [("API 文档 docs", "/docs")]
    if principal.can("hotspots:read"):
        pages.insert(0, ("热点分析 hot spots", "/maps/hotspots"))
    if principal.can("console:open"):
        pages.insert(0, ("调度台 dispatcher console", "/console"))
    m = render_jurisdiction(
        layer.pack,
        incidents=incidents,
        basemap=basemap,
        tianditu_key=settings.tianditu_key,
        categories={c.code: c.name_zh for c in incidents_service.CATEGORIES},
        link_params={"days": str(days)},
        pages=pages,
    )
    page = offline_html(m, asset_base="/static/vendor")
    return HTMLResponse(with_demo_banner(page, demo=settings.demo or principal.demo))


@router.get("/console", response_class=HTMLResponse, tags=["console"])
def console(
    request: Request,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require("console:open"))],
) -> HTMLResponse:
    """The dispatcher's live page: map, queue, incident detail, recommended units, assign.
    It shows who is signed in and only the buttons the role may use."""
    me = {
        "username": principal.name,
        "title": principal.title,
        "role": principal.role,
        "squad": principal.squad,
        "community": principal.community,
        "permissions": sorted(principal.permissions),
        "steps": auth_service.STEP_PERMISSIONS,
    }
    page = render(
        "console.html.j2",
        me=me,
        me_json=_script_json(me),
        labels_json=_script_json(page_labels()),
        csrf=auth_service.csrf_of(principal, key=request.app.state.signing_key),
        demo=settings.demo or principal.demo,
    )
    return HTMLResponse(page, headers=_NO_STORE)


@router.get("/plan", response_class=HTMLResponse, tags=["plans"])
def planning(
    request: Request,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require("plans:read"))],
) -> HTMLResponse:
    """The squad leader's planning page: units on duty, tasks on the map, plan with progress,
    routes, beats and hot spots, each unit's timeline and the plan's figures, briefings and
    GPX, and during the shift the units' positions, the dosage and re-planning from now."""
    me = {
        "username": principal.name,
        "title": principal.title,
        "role": principal.role,
        "squad": principal.squad,
        "permissions": sorted(principal.permissions),
    }
    page = render(
        "plan.html.j2",
        me=me,
        me_json=_script_json(me),
        labels_json=_script_json(page_labels()),
        csrf=auth_service.csrf_of(principal, key=request.app.state.signing_key),
        demo=settings.demo or principal.demo,
    )
    return HTMLResponse(page, headers=_NO_STORE)


# -- the work pages: the officer's daily report, the head's review, the case team ------------


def _work_page(
    template: str, request: Request, settings: SettingsDep, principal: Principal
) -> HTMLResponse:
    me = {
        "username": principal.name,
        "title": principal.title,
        "role": principal.role,
        "community": principal.community,
        "squad": principal.squad,
        "permissions": sorted(principal.permissions),
    }
    page = render(
        template,
        me=me,
        me_json=_script_json(me),
        csrf=auth_service.csrf_of(principal, key=request.app.state.signing_key),
        demo=settings.demo or principal.demo,
    )
    return HTMLResponse(page, headers=_NO_STORE)


@router.get("/report", response_class=HTMLResponse, tags=["reports"])
def daily_report_page(
    request: Request,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require("reports:file"))],
) -> HTMLResponse:
    """The information officer's daily report, for a phone: tap the map where each problem
    is, pick its category or the department it goes to, save and submit to the group head."""
    return _work_page("report.html.j2", request, settings, principal)


@router.get("/report/review", response_class=HTMLResponse, tags=["reports"])
def report_review_page(
    request: Request,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require("reports:approve"))],
) -> HTMLResponse:
    """The group head's queue: the reports waiting for approval, approve or return them; the
    community's last two weeks against the deadline."""
    return _work_page("review.html.j2", request, settings, principal)


@router.get("/cases", response_class=HTMLResponse, tags=["case files"])
def cases_page(
    request: Request,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require("casefiles:read"))],
) -> HTMLResponse:
    """The case team's page: the period's indicators and their exports, the case files, one
    file with its timeline and documents, typical cases and archiving."""
    return _work_page("cases.html.j2", request, settings, principal)
