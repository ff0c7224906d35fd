"""Plan jobs: a plan or re-plan solved in the background, its progress kept in the database.

A squad leader's page asks for a plan and gets a job at once (``POST /plans/jobs``); it polls
the job for the share done and the phase, then reads the stored plan. The request is checked
before the job is queued, so a refusal a plan would give from its request alone (an unknown
squad, station or unit) is still a 422 to the POST; what only the solve finds (a task no unit
can reach in its window) ends the job ``failed`` with the same ``{field, message, fix}`` items.

The solve reads through a read-only session and the plan is stored in one short unit of work
at the end (plan, audit record and the job's "done" together): a job never holds the writer
lock while it searches. Progress is written at most once a second, and at least every
:data:`HEARTBEAT_S` while the job runs, so a job whose worker died is seen as interrupted.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy.orm import Session, sessionmaker

from geo.roadgraph import RoadGraph
from geo.shift import PlanProgress

from ..core.audit import record
from ..core.db import unit_of_work
from ..core.errors import NotFoundError, error_items, status_of
from ..layers.service import ActiveLayer
from . import service, store
from .models import PatrolPlanRecord, PlanJob
from .schemas import PlanCreate, ReplanCreate

__all__ = [
    "HEARTBEAT_S",
    "JobContext",
    "get_job",
    "job_read",
    "queue_plan",
    "queue_replan",
    "run_job",
    "start",
    "wait_idle",
]

logger = logging.getLogger(__name__)

# A running job writes its progress at least this often; one silent for STALE_AFTER is dead.
HEARTBEAT_S: Final = 5.0
STALE_AFTER: Final = timedelta(seconds=60)
# A queued job waits behind the solves ahead of it (each at most its time limit, 600 s).
QUEUED_STALE_AFTER: Final = timedelta(minutes=30)
_WRITE_EVERY_S: Final = 1.0
# One job at a time per service worker: the solves share the worker's solver processes anyway,
# and the next job's "queued" is then true.
_runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plan-job")
_pending: set[Future[None]] = set()
_pending_lock = threading.Lock()


@dataclass(frozen=True)
class JobContext:
    """What a job needs from the app: its session factories, the layer and road graph."""

    sessions: sessionmaker[Session]
    reads: sessionmaker[Session]
    layer: ActiveLayer
    network: RoadGraph


def _queue(
    session: Session,
    *,
    kind: str,
    squad: str,
    request: dict[str, Any],
    actor: str,
    replan_of: int | None = None,
) -> PlanJob:
    job = PlanJob(
        kind=kind,
        squad=squad,
        replan_of=replan_of,
        request=request,
        status="queued",
        progress=0.0,
        phase="queued",
        created_by=actor,
    )
    session.add(job)
    session.flush()
    detail = {"kind": kind, "squad": squad, "replan_of": replan_of}
    record(session, actor=actor, action="queue", entity="plan_job", entity_id=job.id, detail=detail)
    return job


def queue_plan(session: Session, *, layer: ActiveLayer, request: PlanCreate, actor: str) -> PlanJob:
    """Check ``request`` and queue its plan, in the caller's unit of work."""
    squad = service.check_plan_request(layer=layer, request=request)
    return _queue(
        session, kind="plan", squad=squad, request=request.model_dump(mode="json"), actor=actor
    )


def queue_replan(
    session: Session, *, previous: PatrolPlanRecord, request: ReplanCreate, actor: str
) -> PlanJob:
    """Queue the re-plan of ``previous`` from ``request.now``, in the caller's unit of work."""
    return _queue(
        session,
        kind="replan",
        squad=previous.squad,
        request=request.model_dump(mode="json"),
        actor=actor,
        replan_of=previous.id,
    )


def start(job_id: int, context: JobContext) -> None:
    """Solve job ``job_id`` in the background; call once its row is committed."""
    future = _runner.submit(run_job, job_id, context)
    with _pending_lock:
        _pending.add(future)
    future.add_done_callback(_forget)


def _forget(future: Future[None]) -> None:
    with _pending_lock:
        _pending.discard(future)


def wait_idle(*, timeout_s: float) -> bool:
    """Wait until this process has no job queued or running (a clean stop, a test's reset);
    False if some still are after ``timeout_s``."""
    with _pending_lock:
        futures = list(_pending)
    return not wait(futures, timeout=timeout_s).not_done


def get_job(session: Session, job_id: int) -> PlanJob:
    """The job; :class:`NotFoundError` names the id."""
    job = store.get_job(session, job_id)
    if job is None:
        raise NotFoundError(
            "job_id",
            f"No plan job {job_id}.",
            "start one with POST /plans/jobs; jobs are kept with the plans they made.",
        )
    return job


def job_read(job: PlanJob, *, now: datetime) -> dict[str, Any]:
    """The job as the API shows it; one whose worker stopped beating reads as interrupted."""
    status, phase, error = job.status, job.phase, job.error
    silent = now - job.updated_at
    if (status == "running" and silent > STALE_AFTER) or (
        status == "queued" and silent > QUEUED_STALE_AFTER
    ):
        status, phase = "failed", "interrupted"
        error = [
            {
                "field": None,
                "message": f"The plan job stopped at {job.progress:.0%} "
                f"({job.phase}): the service was restarted or the solve died.",
                "fix": "plan again; if it happens again, tell the administrator.",
            }
        ]
    links = {"self": f"/plans/jobs/{job.id}"}
    if job.plan_id is not None:
        links["plan"] = f"/plans/{job.plan_id}"
    return {
        "id": job.id,
        "kind": job.kind,
        "squad": job.squad,
        "replan_of": job.replan_of,
        "status": status,
        "progress": job.progress,
        "phase": phase,
        "created_by": job.created_by,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "plan_id": job.plan_id,
        "error": error,
        "links": links,
    }


class _ProgressWriter:
    """Writes the job's share and phase: a new phase at once, a new share at most every
    second (each write is a write transaction that intake would queue behind), and a
    heartbeat."""

    def __init__(self, sessions: sessionmaker[Session], job_id: int) -> None:
        self.sessions, self.job_id = sessions, job_id
        self.written, self.phase = 0.0, ""
        self.lock = threading.Lock()

    def __call__(self, share: float, phase: str) -> None:
        now = time.monotonic()
        if phase == self.phase and now - self.written < _WRITE_EVERY_S:
            return
        with self.lock:
            self.written, self.phase = now, phase
            try:
                _update(self.sessions, self.job_id, status="running", progress=share, phase=phase)
            except Exception:
                logger.warning("plan job %s: progress not written", self.job_id, exc_info=True)


def _update(sessions: sessionmaker[Session], job_id: int, **values: Any) -> PlanJob:
    with unit_of_work(sessions) as writer:
        job = writer.get(PlanJob, job_id)
        assert job is not None  # committed before the job was started
        for name, value in values.items():
            setattr(job, name, value)
        job.updated_at = datetime.now(UTC)
        return job


def _draft(job: PlanJob, read: Session, context: JobContext, tell: PlanProgress) -> Any:
    if job.kind == "plan":
        return service.draft_plan(
            session=read,
            layer=context.layer,
            network=context.network,
            request=PlanCreate.model_validate(job.request),
            actor=job.created_by,
            on_progress=tell,
        )
    assert job.replan_of is not None
    return service.draft_replan(
        session=read,
        layer=context.layer,
        network=context.network,
        previous=service.get_plan(session=read, plan_id=job.replan_of),
        request=ReplanCreate.model_validate(job.request),
        actor=job.created_by,
        on_progress=tell,
    )


def _beating(tell: _ProgressWriter, stop: threading.Event, state: dict[str, Any]) -> None:
    while not stop.wait(HEARTBEAT_S):
        tell.written = 0.0  # force the write: the solve may sit in one long step
        tell(state["share"], state["phase"])


def run_job(job_id: int, context: JobContext) -> None:
    """Solve job ``job_id`` and store its plan, or its failure; never raises."""
    try:
        _run(job_id, context)
    except Exception:
        logger.exception("plan job %s failed outside the solve", job_id)


def _run(job_id: int, context: JobContext) -> None:
    _update(context.sessions, job_id, status="running", progress=0.0, phase="inputs")
    writer = _ProgressWriter(context.sessions, job_id)
    state: dict[str, Any] = {"share": 0.0, "phase": "inputs"}

    def tell(share: float, phase: str) -> None:
        state.update(share=share, phase=phase)
        writer(share, phase)

    stop = threading.Event()
    beat = threading.Thread(target=_beating, args=(writer, stop, state), daemon=True)
    beat.start()
    try:
        with context.reads() as read:
            job = get_job(read, job_id)
            draft = _draft(job, read, context, tell)
    except Exception as exc:
        stop.set()
        beat.join()
        if status_of(exc) >= 500:
            logger.exception("plan job %s: the planner failed", job_id)
            items = [
                {
                    "field": None,
                    "message": f"The planner failed: {type(exc).__name__}.",
                    "fix": "plan again; if it fails again, tell the administrator (the "
                    "service log has the details).",
                }
            ]
        else:
            items = error_items(exc)
        _update(context.sessions, job_id, status="failed", phase="failed", error=items)
        return
    stop.set()
    beat.join()
    with writer.lock, unit_of_work(context.sessions) as session:
        row = service.save_plan(session, draft)
        finished = session.get(PlanJob, job_id)
        assert finished is not None
        finished.status, finished.phase, finished.progress = "done", "done", 1.0
        finished.plan_id, finished.updated_at = row.id, datetime.now(UTC)
