"""The API's contract: every endpoint typed, every error declared with the one error model, and
the README's endpoint table the same list as the OpenAPI schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.app import create_app
from service.core.config import Settings
from tests.service.helpers import api_routes

README = Path(__file__).resolve().parents[2] / "README.md"
ERROR_REF = "#/components/schemas/ErrorResponse"
# Media types that are not JSON bodies: such routes declare their content type instead of a
# response model.
NOT_JSON = ("text/html", "image/png", "application/gpx+xml", "text/csv", "application/xml")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("openapi")
    return create_app(Settings(database_url=f"sqlite:///{folder / 'x.sqlite'}", _env_file=None))


@pytest.fixture(scope="module")
def spec(app):
    return app.openapi()


def _operations(spec):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def test_every_json_route_has_a_response_model(app):
    untyped = []
    routes = api_routes(app)
    assert len(routes) > 50  # every route is seen, through the included routers
    for _path, route in routes:
        if route.status_code in (204, 303) or not route.include_in_schema:
            continue  # no body (signed out, back to the login page); /docs, /openapi.json
        media = getattr(route.response_class, "media_type", None) or ""
        declared = {m for r in route.responses.values() for m in r.get("content", {})}
        if route.response_model is None and not (media.startswith(NOT_JSON) or declared):
            untyped.append(f"{sorted(route.methods)} {route.path}")
    assert untyped == []


def test_every_error_is_declared_with_the_error_model(spec):
    wrong = []
    for method, path, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if status[0] not in "45":
                continue
            # Every error is declared as JSON with the model (pages and PNG routes also under
            # their own media type, Open311 also as XML).
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if path.startswith("/open311/"):
                ok = status == "4XX" and schema.get("items", {}).get("$ref", "").endswith(
                    "/Open311ErrorItem"
                )
            else:
                ok = schema.get("$ref") == ERROR_REF
            if not ok:
                wrong.append(f"{method} {path} {status}: {schema}")
    assert wrong == []
    # FastAPI's own validation schema is never advertised: our handlers never answer it.
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_every_success_is_described(spec):
    bare = []
    for method, path, operation in _operations(spec):
        ok = [s for s in operation["responses"] if s.startswith("2")]
        if (ok and ok[0] == "204") or (not ok and "303" in operation["responses"]):
            continue  # no body by definition (signed out; back to the login page)
        content = operation["responses"][ok[0]].get("content", {}) if ok else {}
        if not content or (
            all(not c.get("schema") for c in content.values())
            and not any(m.startswith(NOT_JSON) or m == "application/geo+json" for m in content)
        ):
            bare.append(f"{method} {path}")
    assert bare == []


def test_the_error_model_is_what_the_handlers_answer(app, spec, client):
    model = spec["components"]["schemas"]["ErrorItem"]
    assert set(model["required"]) == {"field", "message", "fix"}
    response = client.get("/incidents", params={"limit": 0})
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert set(item) == {"field", "message", "fix"}
    assert item["field"] == "limit"


def _readme_endpoints() -> set[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    table = text.split("## The API", 1)[1].split("\n## ", 1)[0]
    found = set()
    for method, path in re.findall(r"`(GET|POST|PUT|DELETE) (/[^`? ]*)", table):
        found.add((method, path))
    return found


def _normalised(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_readme_endpoint_table_matches_the_openapi_schema(spec):
    documented = {(m, _normalised(p)) for m, p in _readme_endpoints()}
    served = {(m, _normalised(p)) for m, p, _ in _operations(spec)}
    assert documented, "the README's endpoint table lists no endpoint"
    assert sorted(served - documented) == [], "served but not in the README's table"
    assert sorted(documented - served) == [], "in the README's table but not served"
