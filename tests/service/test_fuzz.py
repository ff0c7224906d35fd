"""Schemathesis over every operation of the API, on both databases, as a signed-in person whose
role may call it: no answer is a server error, and every answer (its status, content type,
headers and body) is one the OpenAPI document declares.

Bounded: a few examples per operation, drawn with a fixed seed, so CI stays quick and a failure
replays. Writes land in the test database, which the ``client`` fixture resets per operation.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks

from service.app import create_app
from service.auth.roles import ROLE_PERMISSIONS
from service.core.config import Settings
from tests.conftest import TEST_PASSWORD, TEST_USERS
from tests.service.helpers import activate_bundled_pack, route_rules

EXAMPLES = 8
_SEARCH_CAPS = {"time_limit_s": 2.0, "solution_limit": 20}
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
# Who calls each rule: the first test user whose role holds it (the dispatcher first, so that
# most operations run with the busiest role's scope).
_CALLERS = ("dispatch", *[key for key in TEST_USERS if key != "dispatch"])


def _caller(rule: str) -> str | None:
    for key in _CALLERS:
        if rule in ROLE_PERMISSIONS[TEST_USERS[key][0]]:
            return key
    return None  # public, an Open311 key or a device token: sent as the dispatcher anyway


@pytest.fixture
def fuzzed(client: Any) -> Any:
    """The client on the bundled pack (plans and dispatch need its road network)."""
    activate_bundled_pack(client)
    return client


@pytest.fixture
def sessions(fuzzed: Any) -> Any:
    """Headers of a session per test user, signed in once per operation (on first use).

    Sessions of the fuzz's own: a fuzzed sign-out or refresh must not revoke the shared test
    sessions the rest of the suite signs in with.
    """
    made: dict[str, dict[str, str]] = {}

    def headers_of(key: str) -> dict[str, str]:
        if key not in made:
            answer = fuzzed.post(
                "/auth/token", data={"username": f"t-{key}", "password": TEST_PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            made[key] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        return made[key]

    return headers_of


# The document is the app's, made without a database (as test_auth's route table is); requests
# go through the test's own client, whose app is started on each database.
_BARE_APP = create_app(Settings(database_url="sqlite://", _env_file=None))  # type: ignore[call-arg]
schema = schemathesis.openapi.from_dict(_BARE_APP.openapi())
_RULES = {(method, path): rule for method, path, rule in route_rules(_BARE_APP)}


# The snapshot and the monthly pack render pages in Chromium, a second or more a call: a few
# generated examples only, without the boundary-value (explicit) phase.
_SLOW = {"path_regex": r"^/(maps/hotspots\.png|meetings/monthly)$"}


@schema.exclude(**_SLOW).parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_every_answer_as_declared(
    case: Any, fuzzed: Any, sessions: Any
) -> None:
    _exercise(case, fuzzed, sessions)


@schema.include(**_SLOW).parametrize()
@settings(
    max_examples=3,
    phases=[Phase.generate],
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_slow_operations_answer_as_declared(case: Any, fuzzed: Any, sessions: Any) -> None:
    _exercise(case, fuzzed, sessions)


def _exercise(case: Any, fuzzed: Any, sessions: Any) -> None:
    """Send ``case`` as the role that may, through the test's client; check the answer."""
    # The operation's own method: a probe may send another one (TRACE), which must be a 405.
    rule = _RULES[(case.operation.method.upper(), case.path)]
    headers = sessions(_caller(rule) or "dispatch")
    request = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    cookies = request.pop("cookies", None) or {}
    fuzzed.cookies.clear()
    fuzzed.cookies.update(cookies)
    if isinstance(request.get("data"), bytes | str):  # a raw body: httpx names it content
        request["content"] = request.pop("data")
    body = request.get("json")
    if isinstance(body, dict):
        # The contract, not the search, is under test here (test_plans_api solves for real):
        # a fuzzed plan may ask for ten minutes of search, which a squad leader may, but the
        # suite cannot wait for.
        for name, cap in _SEARCH_CAPS.items():
            if isinstance(body.get(name), int | float) and body[name] > cap:
                body[name] = cap
    response = fuzzed.request(**request, follow_redirects=False)
    case.validate_response(response, checks=CHECKS, headers=headers)
