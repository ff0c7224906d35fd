"""Patrol plans: plan a squad's shift, read it, re-plan it, and export it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from geo.dosage import DosageParams
from maps import render_plan
from maps.assets import offline_html

from ..auth import service as auth_service
from ..auth.service import Principal, require
from ..core.deps import NowDep, ReadSessionDep, SessionDep, SettingsDep
from ..core.errors import ERROR_RESPONSES, NotFoundError, errors
from ..core.schemas import FeatureCollection, RowId
from ..layers import service as layers_service
from ..layers.service import LayerDep, NetworkDep
from ..pages.service import with_demo_banner
from . import exports, jobs
from . import service as planning
from .models import PatrolPlanRecord
from .schemas import Dosage, PlanCreate, PlanJobRead, PlanRead, PlanSummary, ReplanCreate

__all__ = ["router"]

router = APIRouter(prefix="/plans", tags=["plans"], responses=ERROR_RESPONSES)
_NOT_FOUND = errors(404)
_Reader = Annotated[Principal, Depends(require("plans:read"))]
_Planner = Annotated[Principal, Depends(require("plans:create"))]


def _plan(session: SessionDep, plan_id: RowId, principal: Principal) -> PatrolPlanRecord:
    """The plan, if the principal's squad (for a squad leader) is the plan's."""
    row = planning.get_plan(session=session, plan_id=plan_id)
    auth_service.ensure_squad(principal, row.squad, field="plan_id")
    return row


@contextmanager
def _unit_named(field: str) -> Iterator[None]:
    # The exporters raise KeyError for a unit the plan does not have.
    try:
        yield
    except KeyError as exc:
        raise NotFoundError(
            field,
            str(exc.args[0]) if exc.args else str(exc),
            "use one of the plan's unit ids (GET /plans/{id}).",
        ) from None


def _layer_label(session: SessionDep, row: PatrolPlanRecord) -> str | None:
    return layers_service.layer_label(session, row.layer_version_id)


def _read(session: SessionDep, row: PatrolPlanRecord) -> dict[str, Any]:
    label = _layer_label(session, row)
    return {
        "id": row.id,
        "replan_of": row.replan_of,
        "created_at": row.created_at.isoformat(),
        "created_by": row.created_by,
        "layer_version": label,
        **row.plan,
        "links": {
            rel: f"/plans/{row.id}{suffix}"
            for rel, suffix in (
                ("self", ""),
                ("map", "/map"),
                ("geojson", "/geojson"),
                ("gpx", "/gpx"),
                ("briefing", "/briefing"),
                ("replan", "/replan"),
                ("dosage", "/dosage"),
            )
        },
    }


@router.post("", status_code=201, response_model=PlanRead)
def create_plan(
    principal: _Planner,
    plan_in: PlanCreate,
    read: ReadSessionDep,
    session: SessionDep,
    layer: LayerDep,
    network: NetworkDep,
    response: Response,
) -> dict[str, Any]:
    """Plan a squad's shift: routes per unit, key-road coverage, targets left out and why.
    A squad leader plans their own squad."""
    for code in layers_service.squad_codes(read, plan_in.squad):
        auth_service.ensure_squad(principal, code)
    # Solved on the read session, stored on the unit of work: no writer lock during the solve.
    row = planning.create_plan(
        session=read,
        store=session,
        layer=layer,
        network=network,
        request=plan_in,
        actor=principal.name,
    )
    response.headers["Location"] = f"/plans/{row.id}"
    return _read(session, row)


def _job_context(request: Request, layer: LayerDep, network: NetworkDep) -> jobs.JobContext:
    state = request.app.state
    return jobs.JobContext(state.sessionmaker, state.read_sessionmaker, layer, network)


_JobContextDep = Annotated[jobs.JobContext, Depends(_job_context)]


@router.post("/jobs", status_code=202, response_model=PlanJobRead)
def create_plan_job(
    principal: _Planner,
    plan_in: PlanCreate,
    read: ReadSessionDep,
    session: SessionDep,
    layer: LayerDep,
    context: _JobContextDep,
    background: BackgroundTasks,
    now: NowDep,
    response: Response,
) -> dict[str, Any]:
    """Plan a squad's shift in the background: answers at once with a job to poll for its
    progress (GET /plans/jobs/{id}) and, once done, its plan. The request is checked first."""
    for code in layers_service.squad_codes(read, plan_in.squad):
        auth_service.ensure_squad(principal, code)
    job = jobs.queue_plan(session, layer=layer, request=plan_in, actor=principal.name)
    # Background tasks run after the response, so after the unit of work has committed the job.
    background.add_task(jobs.start, job.id, context)
    response.headers["Location"] = f"/plans/jobs/{job.id}"
    return jobs.job_read(job, now=now)


@router.get("/jobs/{job_id}", response_model=PlanJobRead, responses=_NOT_FOUND)
def read_plan_job(
    job_id: RowId, session: SessionDep, principal: _Reader, now: NowDep
) -> dict[str, Any]:
    """A plan job: queued, running (share done and phase), done (its plan) or failed (why)."""
    job = jobs.get_job(session, job_id)
    auth_service.ensure_squad(principal, job.squad, field="job_id")
    return jobs.job_read(job, now=now)


@router.get("", response_model=list[PlanSummary])
def list_plans(
    session: SessionDep,
    principal: _Reader,
    squad: str | None = None,
    date: str | None = Query(None, pattern=r"^\d{4}-\d{2}-\d{2}$"),
    limit: int = Query(50, ge=1, le=500),
) -> list[dict[str, Any]]:
    """Stored plans, newest first: id, squad, date, shift, coverage, objective (a squad
    leader's: their squad's)."""
    if principal.role == "squad_leader":
        squad = principal.squad
    return [
        {
            "id": r.id,
            "squad": r.squad,
            "date": r.plan_date,
            "shift": r.shift,
            "replan_of": r.replan_of,
            "created_at": r.created_at.isoformat(),
            "coverage": r.plan["coverage"]["share"],
            "objective": r.plan["solver"]["objective"],
            "href": f"/plans/{r.id}",
        }
        for r in planning.list_plans(session, squad=squad, day=date, limit=limit)
    ]


@router.get("/{plan_id}", response_model=PlanRead, responses=_NOT_FOUND)
def read_plan(plan_id: RowId, session: SessionDep, principal: _Reader) -> dict[str, Any]:
    """One stored plan with its routes, stops and times."""
    return _read(session, _plan(session, plan_id, principal))


@router.post("/{plan_id}/replan", status_code=201, response_model=PlanRead, responses=_NOT_FOUND)
def replan(
    principal: _Planner,
    plan_id: RowId,
    replan_in: ReplanCreate,
    read: ReadSessionDep,
    session: SessionDep,
    layer: LayerDep,
    network: NetworkDep,
    response: Response,
) -> dict[str, Any]:
    """Re-plan the rest of the shift from ``now``: done stops stay, units start where they are."""
    previous = _plan(read, plan_id, principal)
    row = planning.replan(
        session=read,
        store=session,
        layer=layer,
        network=network,
        previous=previous,
        request=replan_in,
        actor=principal.name,
    )
    response.headers["Location"] = f"/plans/{row.id}"
    return _read(session, row)


@router.post(
    "/{plan_id}/replan/jobs", status_code=202, response_model=PlanJobRead, responses=_NOT_FOUND
)
def create_replan_job(
    principal: _Planner,
    plan_id: RowId,
    replan_in: ReplanCreate,
    session: SessionDep,
    context: _JobContextDep,
    background: BackgroundTasks,
    now: NowDep,
    response: Response,
) -> dict[str, Any]:
    """Re-plan the rest of the shift in the background, as POST /plans/{id}/replan does: a job
    to poll."""
    previous = _plan(session, plan_id, principal)
    job = jobs.queue_replan(session, previous=previous, request=replan_in, actor=principal.name)
    background.add_task(jobs.start, job.id, context)
    response.headers["Location"] = f"/plans/jobs/{job.id}"
    return jobs.job_read(job, now=now)


@router.get("/{plan_id}/dosage", response_model=Dosage, responses=_NOT_FOUND)
def plan_dosage(
    plan_id: RowId,
    session: SessionDep,
    principal: _Reader,
    radius_m: float = Query(50.0, gt=0, le=500),
) -> dict[str, Any]:
    """Which planned stops the units' position tracks actually visited, for long enough."""
    row = _plan(session, plan_id, principal)
    return planning.dosage(session=session, row=row, params=DosageParams(radius_m=radius_m))


@router.get(
    "/{plan_id}/geojson",
    response_model=FeatureCollection,
    responses={200: {"content": {"application/geo+json": {}}}, **_NOT_FOUND},
)
def plan_geojson(plan_id: RowId, session: SessionDep, principal: _Reader) -> JSONResponse:
    """The plan's routes and stops as GeoJSON."""
    row = _plan(session, plan_id, principal)
    return JSONResponse(
        exports.plan_geojson({"id": row.id, **row.plan}), media_type="application/geo+json"
    )


@router.get(
    "/{plan_id}/gpx",
    response_class=Response,
    responses={200: {"content": {"application/gpx+xml": {}}}, **_NOT_FOUND},
)
def plan_gpx(
    plan_id: RowId, session: SessionDep, principal: _Reader, unit: str | None = None
) -> Response:
    """GPX 1.1 for handheld devices: a track and waypoints per unit (or one ``unit``)."""
    row = _plan(session, plan_id, principal)
    with _unit_named("unit"):
        body = exports.plan_gpx({"id": row.id, **row.plan}, unit_id=unit)
    return Response(
        body,
        media_type="application/gpx+xml",
        headers={"Content-Disposition": f'attachment; filename="plan-{row.id}.gpx"'},
    )


@router.get("/{plan_id}/briefing", response_class=HTMLResponse, responses=_NOT_FOUND)
def plan_briefing(
    plan_id: RowId,
    session: SessionDep,
    settings: SettingsDep,
    principal: _Reader,
    unit: str | None = None,
) -> HTMLResponse:
    """A printable briefing page per unit: stops, times, what to check, a route sketch."""
    row = _plan(session, plan_id, principal)
    label = _layer_label(session, row)
    with _unit_named("unit"):
        page = exports.plan_briefing_html(
            {"id": row.id, "layer_version": label, **row.plan}, unit_id=unit
        )
    return HTMLResponse(with_demo_banner(page, demo=settings.demo))


@router.get("/{plan_id}/map", response_class=HTMLResponse, responses=_NOT_FOUND)
def plan_map(
    plan_id: RowId,
    session: SessionDep,
    principal: _Reader,
    layer: LayerDep,
    settings: SettingsDep,
    basemap: str = Query("osm", pattern="^(osm|tianditu|amap)$"),
) -> HTMLResponse:
    """The route map: each unit in its colour, numbered stops, hot spots, key-road coverage."""
    row = _plan(session, plan_id, principal)
    plan, hotspots, sweeps = planning.plan_objects(row.plan, layer)
    title = (
        f"{row.plan['squad_name']} {row.plan_date} "
        f"{'早班 early' if row.shift == 'early' else '晚班 late'} · plan {row.id}"
    )
    m = render_plan(
        plan,
        hotspots=hotspots,
        sweeps=sweeps,
        title=title,
        basemap=basemap,
        tianditu_key=settings.tianditu_key,
    )
    page = offline_html(m, asset_base="/static/vendor")
    return HTMLResponse(with_demo_banner(page, demo=settings.demo))
