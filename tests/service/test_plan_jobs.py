"""Plan jobs on both databases: a plan solved in the background with its progress, refused at
once when its request is wrong, failed with reasons when only the solve finds the fault, and
seen as interrupted when its worker stops beating."""

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from service.plans.models import PatrolPlanRecord, PlanJob

from .helpers import as_, audit_rows, count_rows, stalls_by_the_metro

PLAN_DAY = date(2026, 11, 20)
# A small search budget: the job path is under test, not the search.
_BUDGET = {"time_limit_s": 20, "solution_limit": 120}


@pytest.fixture
def qingshuihe(client: TestClient) -> TestClient:
    """The bundled Qingshuihe pack active, with a week of evening stalls by 泥岗 metro."""
    return stalls_by_the_metro(client, day=PLAN_DAY)


def _request(**fields):
    return {"squad": "west", "date": PLAN_DAY.isoformat(), "shift": "late", **_BUDGET, **fields}


def _until_finished(client: TestClient, job: dict, *, by: str = "squad-west") -> list[dict]:
    """Poll the job until it is done or failed; every answer seen, in order."""
    seen = [job]
    deadline = time.monotonic() + 180
    while seen[-1]["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, seen[-1]
        time.sleep(0.2)
        answer = client.get(seen[-1]["links"]["self"], headers=as_(client, by))
        assert answer.status_code == 200, answer.text
        seen.append(answer.json())
    return seen


def test_a_plan_job_answers_at_once_reports_progress_and_stores_the_plan(qingshuihe):
    response = qingshuihe.post(
        "/plans/jobs", json=_request(), headers=as_(qingshuihe, "squad-west")
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["Location"] == f"/plans/jobs/{job['id']}"
    assert job["status"] == "queued"
    assert job["plan_id"] is None
    seen = _until_finished(qingshuihe, job)
    done = seen[-1]
    assert done["status"] == "done", done
    assert done["progress"] == 1.0
    shares = [s["progress"] for s in seen]
    assert shares == sorted(shares)  # the bar never runs back
    assert {"search"} & {s["phase"] for s in seen}, [s["phase"] for s in seen]
    plan = qingshuihe.get(done["links"]["plan"], headers=as_(qingshuihe, "squad-west")).json()
    assert plan["id"] == done["plan_id"]
    assert plan["created_by"] == "t-squad-west"
    assert audit_rows(qingshuihe, entity="plan_job", entity_id=str(job["id"]))
    assert audit_rows(qingshuihe, entity="patrol_plan", entity_id=str(plan["id"]))
    # The same request and seed, planned at once, give the same routes.
    direct = qingshuihe.post("/plans", json=_request(), headers=as_(qingshuihe, "squad-west"))
    assert direct.status_code == 201, direct.text

    def routes(doc):
        return {u["unit_id"]: [s["target_id"] for s in u["stops"]] for u in doc["units"]}

    assert routes(direct.json()) == routes(plan)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"squad": "north"}, "squad"),
        (
            {"units": [{"unit_id": "u1", "mode": "car", "start_station": "nowhere"}]},
            "units[0].start_station",
        ),
        ({"pin_hotspots": {"g150m-1-1": "nobody"}}, "pin_hotspots.g150m-1-1"),
        ({"solution_limit": 0}, "solution_limit"),
    ],
)
def test_a_wrong_request_is_refused_at_once_and_queues_nothing(qingshuihe, fields, field):
    response = qingshuihe.post(
        "/plans/jobs", json=_request(**fields), headers=as_(qingshuihe, "squad-west")
    )
    assert response.status_code == 422, response.text
    assert field in {d["field"] for d in response.json()["detail"]}
    assert count_rows(qingshuihe, PlanJob) == 0


def test_what_only_the_solve_finds_fails_the_job_with_its_reasons(qingshuihe):
    far_task = {
        "task_id": "inspect-far",
        "location": {"lon": 114.1395, "lat": 22.6185},
        "window_start": "15:00",
        "window_end": "15:01",
    }
    job = qingshuihe.post(
        "/plans/jobs", json=_request(tasks=[far_task]), headers=as_(qingshuihe, "squad-west")
    ).json()
    failed = _until_finished(qingshuihe, job)[-1]
    assert failed["status"] == "failed"
    [item] = failed["error"]
    assert "inspect-far" in item["message"]
    assert item["fix"]
    assert failed["plan_id"] is None
    assert count_rows(qingshuihe, PatrolPlanRecord) == 0


def test_a_replan_job_keeps_what_is_done(qingshuihe):
    first = qingshuihe.post("/plans/jobs", json=_request(), headers=as_(qingshuihe, "squad-west"))
    plan_id = _until_finished(qingshuihe, first.json())[-1]["plan_id"]
    response = qingshuihe.post(
        f"/plans/{plan_id}/replan/jobs",
        json={
            "now": f"{PLAN_DAY.isoformat()}T19:00:00+08:00",
            "removed_units": ["west-car-1"],
            **_BUDGET,
        },
        headers=as_(qingshuihe, "squad-west"),
    )
    assert response.status_code == 202, response.text
    done = _until_finished(qingshuihe, response.json())[-1]
    assert done["status"] == "done", done
    assert done["kind"] == "replan"
    assert done["replan_of"] == plan_id
    fresh = qingshuihe.get(f"/plans/{done['plan_id']}", headers=as_(qingshuihe, "squad-west"))
    assert fresh.json()["replan_of"] == plan_id
    assert fresh.json()["removed_units"] == ["west-car-1"]


def test_jobs_belong_to_their_squad_and_to_planners(qingshuihe):
    assert (
        qingshuihe.post(
            "/plans/jobs", json=_request(), headers=as_(qingshuihe, "squad-east")
        ).status_code
        == 403
    )
    assert (
        qingshuihe.post("/plans/jobs", json=_request(), headers=as_(qingshuihe, "info")).status_code
        == 403
    )
    job = qingshuihe.post(
        "/plans/jobs", json=_request(), headers=as_(qingshuihe, "squad-west")
    ).json()
    assert (
        qingshuihe.get(job["links"]["self"], headers=as_(qingshuihe, "squad-east")).status_code
        == 403
    )
    assert (
        qingshuihe.get(job["links"]["self"], headers=as_(qingshuihe, "dispatch")).status_code == 200
    )
    assert (
        qingshuihe.get("/plans/jobs/999999", headers=as_(qingshuihe, "squad-west")).status_code
        == 404
    )
    _until_finished(qingshuihe, job)


def test_a_job_whose_worker_stopped_beating_reads_as_interrupted(qingshuihe):
    silent = datetime.now(UTC) - timedelta(minutes=2)
    with qingshuihe.app.state.sessionmaker() as session, session.begin():
        job = PlanJob(
            kind="plan",
            squad="west",
            request=_request(),
            status="running",
            progress=0.4,
            phase="search",
            created_by="t-squad-west",
            created_at=silent,
            updated_at=silent,
        )
        session.add(job)
        session.flush()
        job_id = job.id
    read = qingshuihe.get(f"/plans/jobs/{job_id}", headers=as_(qingshuihe, "squad-west")).json()
    assert read["status"] == "failed"
    assert read["phase"] == "interrupted"
    assert "40%" in read["error"][0]["message"]
    assert "plan again" in read["error"][0]["fix"]
