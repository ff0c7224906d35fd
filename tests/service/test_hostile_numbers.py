"""Numbers no row or option can have, in every URL of the API: a 4xx naming the field, never a
server error (SQLite's driver overflows on integers of 2^63 and more)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from service.core.errors import ErrorResponse
from service.incidents.models import Incident

from .helpers import as_, body, count_rows

# 2^31: one past PostgreSQL's INTEGER, the type of every id column.
HOSTILE = (2**31, 2**63, -(2**63), "1e308", "nan", "-1")
# Roles tried in turn until one may use the route (a 403 says nothing about its numbers).
ROLES = ("dispatch", "squad-west", "leader", "case", "admin")
# Routes that would end the test users' sessions.
SKIPPED = {"/auth/logout"}


def _numeric(parameter: dict[str, Any]) -> bool:
    return parameter["schema"].get("type") in ("integer", "number")


def _operations(client: TestClient) -> list[tuple[str, str, list[dict[str, Any]]]]:
    spec = client.app.openapi()  # type: ignore[attr-defined]
    return [
        (method.upper(), path, operation.get("parameters", []))
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if path not in SKIPPED
        and any(_numeric(p) for p in operation.get("parameters", []) if p["in"] != "header")
    ]


def _url(path: str, parameters: list[dict[str, Any]], value: object) -> tuple[str, dict]:
    query = {}
    for parameter in parameters:
        name = parameter["name"]
        if parameter["in"] == "path":
            path = path.replace("{" + name + "}", str(value) if _numeric(parameter) else "x")
        elif parameter["in"] == "query" and _numeric(parameter):
            query[name] = value
    return path, query


def test_no_number_in_a_url_gives_a_server_error(client: TestClient) -> None:
    operations = _operations(client)
    assert any("{plan_id}" in path for _, path, _ in operations)  # the probe reaches ids
    failures = []
    for method, path, parameters in operations:
        for value in HOSTILE:
            url, query = _url(path, parameters, value)
            body = {} if method in ("POST", "PUT", "PATCH") else None
            for role in ROLES:
                answer = client.request(
                    method, url, params=query, json=body, headers=as_(client, role)
                )
                if answer.status_code not in (401, 403):
                    break
            # "-1" is a fine longitude, so a 2xx is no failure; a 5xx always is.
            if answer.status_code >= 500 and answer.status_code != 503:
                failures.append(f"{method} {url} {query}: {answer.status_code}")
            elif answer.status_code >= 400 and not path.startswith("/open311/"):
                ErrorResponse.model_validate(answer.json())  # the declared error model
    assert not failures, failures


def test_an_id_beyond_an_integer_column_is_a_422_naming_it(client: TestClient) -> None:
    for plan_id in (2**31, 2**63):
        answer = client.get(f"/plans/{plan_id}", headers=as_(client, "squad-west"))
        assert answer.status_code == 422, answer.text
        [item] = answer.json()["detail"]
        assert item["field"] == "plan_id"
        assert "2147483647" in item["message"]


def test_a_nul_character_is_a_422_naming_the_field(client: TestClient) -> None:
    # PostgreSQL cannot store one: it was a 500 there, and stored on SpatiaLite.
    before = count_rows(client, Incident)
    refused = {
        "query": client.get("/units", params={"squad": "west\x00"}),
        "json": client.post("/incidents", json=body(description="a\x00b")),
        "nested json": client.post("/incidents", json=body(photo_urls=["https://x/\x00"])),
        "form": client.post("/auth/token", data={"username": "t-\x00", "password": "x"}),
    }
    fields = {}
    for where, answer in refused.items():
        assert answer.status_code == 422, (where, answer.text)
        [item] = answer.json()["detail"]
        assert "NUL" in item["message"], where
        fields[where] = item["field"]
    assert fields == {
        "query": "squad",
        "json": "description",
        "nested json": "photo_urls.0",
        "form": "username",
    }
    assert count_rows(client, Incident) == before
