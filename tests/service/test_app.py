"""App start-up on a fresh SpatiaLite file: migrate, import the pack once, or wait for one."""

from __future__ import annotations

import warnings

from starlette.exceptions import StarletteDeprecationWarning

from service.app import create_app
from service.auth import people
from service.auth import store as people_store
from service.core.config import Settings

from .helpers import body

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


def _settings(tmp_path, **fields):
    # data_dir: the signing key is kept there, not in the user's own data directory.
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'app.sqlite'}",
        data_dir=tmp_path,
        _env_file=None,
        **fields,
    )


def _sign_in(client, role):
    """Sign the client in as a user of ``role`` (created on first use): a fresh database has
    no users of the test suite."""
    username, password = f"start-{role}", "start-password-0123"
    with client.app.state.sessionmaker() as session:
        if people_store.user_by_name(session, username) is None:
            people.create_user(
                session, username=username, title=role, role=role, password=password, actor="test"
            )
            session.commit()
    answer = client.post("/auth/token", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"


def test_bundled_pack_imported_once(tmp_path):
    settings = _settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        assert client.get("/layers").status_code == 401  # reading needs a sign-in
        _sign_in(client, "leader")
        versions = client.get("/layers").json()
        assert len(versions) == 1
        assert versions[0]["name"] == "qingshuihe"
        assert versions[0]["active"] is True
        assert versions[0]["created_by"] == "system:startup"
        names = [
            f["properties"]["name_zh"]
            for f in client.get("/layers/active").json()["communities"]["features"]
        ]
        assert "泥岗" in names
    # A restart on the same file neither migrates again nor re-imports.
    with TestClient(create_app(settings)) as client:
        _sign_in(client, "leader")
        assert len(client.get("/layers").json()) == 1


def test_without_any_pack_the_app_starts_and_says_what_to_do(tmp_path):
    empty = tmp_path / "no-pack"
    empty.mkdir()
    with TestClient(create_app(_settings(tmp_path, layer_pack=empty))) as client:
        assert client.get("/healthz").status_code == 200
        _sign_in(client, "dispatcher")
        assert client.get("/layers").json() == []
        response = client.post("/incidents", json=body())
        assert response.status_code == 503
        assert "import" in response.json()["detail"][0]["fix"]
