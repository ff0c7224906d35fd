"""App start-up on a fresh SpatiaLite file: migrate, import the pack once, or wait for one."""

from __future__ import annotations

import warnings

from starlette.exceptions import StarletteDeprecationWarning

from service.app import create_app
from service.core.config import Settings

from .helpers import body

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


def _settings(tmp_path, **fields):
    return Settings(database_url=f"sqlite:///{tmp_path / 'app.sqlite'}", _env_file=None, **fields)


def test_bundled_pack_imported_once(tmp_path):
    settings = _settings(tmp_path)
    with TestClient(create_app(settings)) as client:
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
        assert len(client.get("/layers").json()) == 1


def test_without_any_pack_the_app_starts_and_says_what_to_do(tmp_path):
    empty = tmp_path / "no-pack"
    empty.mkdir()
    with TestClient(create_app(_settings(tmp_path, layer_pack=empty))) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/layers").json() == []
        response = client.post("/incidents", json=body())
        assert response.status_code == 503
        assert "import" in response.json()["detail"][0]["fix"]
