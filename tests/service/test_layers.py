"""Layer versions in the database: import, refuse, rebuild, activate, cache."""

from __future__ import annotations

import concurrent.futures
import logging
import time

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import IntegrityError

from geo.errors import LayerValidationError
from service.core.audit import AuditLog
from service.core.errors import ConflictError, InvalidInputError, NotFoundError
from service.layers import service as layerstore
from service.layers.models import Community, LayerVersion

from .helpers import MEIYUAN, anonymous, as_, audit_rows, body, count_rows


def _session(client):
    return client.app.state.sessionmaker()


def _east_pack(pack):
    """Version 2: 梅园 moves from the west squad to the east squad."""
    communities = pack.communities.copy()
    communities.loc[communities["code"] == "440303010002", "squad"] = "east"
    return type(pack)(
        name=pack.name,
        version="2",
        communities=communities,
        key_roads=pack.key_roads,
        stations=pack.stations,
        squads=pack.squads,
        places=pack.places,
        metadata=pack.metadata,
    )


def test_load_pack_round_trip(client, test_pack):
    with _session(client) as session:
        loaded = layerstore.load_pack(session)
    assert loaded.label == test_pack.label
    assert list(loaded.communities["code"]) == list(test_pack.communities["code"])
    assert list(loaded.communities["aliases"]) == [["坭岗"], [], []]
    for got, want in zip(loaded.communities.geometry, test_pack.communities.geometry, strict=True):
        assert got.geom_type == "MultiPolygon"
        assert shapely.equals(got, want)
    assert shapely.equals(
        loaded.key_roads.geometry.iloc[0],
        shapely.MultiLineString([test_pack.key_roads.geometry.iloc[0]]),
    )
    assert list(loaded.stations["code"]) == ["west-base", "east-base", "police"]
    assert pd.isna(loaded.stations["squad"].iloc[2])
    assert list(loaded.squads["name_zh"]) == ["巡查一中队", "巡查二中队"]
    assert loaded.places is not None
    assert list(loaded.places["place_id"]) == ["P1"]
    assert loaded.community_lookup()["坭岗"] == "440303010001"


def test_import_records_audit_and_stays_inactive(client, test_pack):
    with _session(client) as session:
        version = layerstore.import_pack(session, _east_pack(test_pack), actor="gis-officer")
        session.commit()
        assert version.active is False
        assert version.created_by == "gis-officer"
    assert [(r.action, r.actor) for r in audit_rows(client)] == [("import", "gis-officer")]
    assert [v["label"] for v in client.get("/layers").json()] == ["squares@1", "squares@2"]


def test_duplicate_label_refused(client, test_pack):
    with _session(client) as session, pytest.raises(ConflictError, match="squares@1"):
        layerstore.import_pack(session, test_pack, actor="gis-officer")


def test_invalid_pack_refused_and_nothing_stored(client, test_pack):
    broken = _east_pack(test_pack).with_version("broken")
    communities = broken.communities.copy()
    communities.loc[0, "squad"] = "north"  # no such squad
    broken = type(broken)(
        name=broken.name,
        version="broken",
        communities=communities,
        key_roads=broken.key_roads,
        stations=broken.stations,
        squads=broken.squads,
    )
    versions = count_rows(client, LayerVersion)
    with _session(client) as session, pytest.raises(LayerValidationError, match="north"):
        layerstore.import_pack(session, broken, actor="gis-officer")
    assert count_rows(client, LayerVersion) == versions


def test_exactly_one_active_enforced_by_database(client):
    with _session(client) as session:
        session.add(
            LayerVersion(
                name="x", version="1", label="x@1", metadata_={}, active=True, created_by="test"
            )
        )
        with pytest.raises(IntegrityError):
            session.flush()


def test_activate_unknown_version(client):
    with _session(client) as session, pytest.raises(NotFoundError, match="squares@1"):
        layerstore.activate_version(session, "squares@9", actor="x")
    response = client.post("/layers/squares@9/activate", headers=as_(client, "admin"))
    assert response.status_code == 404
    assert response.json()["detail"][0]["field"] == "label"


def test_cache_rebuilds_when_another_version_is_activated(client, test_pack):
    cache = layerstore.JurisdictionCache(client.app.state.settings.resolve_params())
    with _session(client) as session:
        first = cache.get(session)
        assert cache.get(session) is first  # no rebuild while the version is unchanged
        layerstore.import_pack(session, _east_pack(test_pack), actor="t", activate=True)
        session.commit()
        second = cache.get(session)
    assert second.label == "squares@2"
    assert second.jurisdiction.resolve_one(*MEIYUAN)["squad"] == "east"
    assert first.jurisdiction.resolve_one(*MEIYUAN)["squad"] == "west"


def test_no_active_version_is_a_clear_503(client):
    with _session(client) as session:
        session.execute(update(LayerVersion).values(active=False))
        session.commit()
    response = client.post("/incidents", json={})
    assert response.status_code in (422, 503)  # body validation may come first
    response = client.get("/resolve", params={"lon": MEIYUAN[0], "lat": MEIYUAN[1]})
    assert response.status_code == 503
    assert "import" in response.json()["detail"][0]["fix"]


def test_activation_changes_new_resolutions_not_stored_ones(client, test_pack):
    from .helpers import body

    before = client.post("/incidents", json=body(MEIYUAN)).json()
    assert before["resolution"]["squad"] == "west"
    with _session(client) as session:
        layerstore.import_pack(session, _east_pack(test_pack), actor="gis-officer")
        session.commit()
    # Only the administrator activates a version: the dispatcher and the leader may not.
    for key in ("dispatch", "leader"):
        refused = client.post("/layers/squares@2/activate", headers=as_(client, key))
        assert refused.status_code == 403, refused.text
    assert client.get("/layers/active").json()["label"] == "squares@1"
    response = client.post("/layers/squares@2/activate", headers=as_(client, "admin"))
    assert response.status_code == 200
    assert response.json()["active"] is True
    assert response.json()["activated_by"] == "t-admin"
    after = client.post("/incidents", json=body(MEIYUAN)).json()
    assert after["resolution"]["squad"] == "east"
    assert after["resolution"]["layer_version"] == "squares@2"
    stored = client.get(f"/incidents/{before['id']}").json()
    assert stored["resolution"]["squad"] == "west"
    assert stored["resolution"]["layer_version"] == "squares@1"
    assert client.get("/incidents", params={"squad": "east"}).json()["total"] == 1
    labels = {v["label"]: v["active"] for v in client.get("/layers").json()}
    assert labels == {"squares@1": False, "squares@2": True}


def test_reference_reads_need_a_sign_in_of_any_role(client):
    nobody = anonymous(client)
    point = {"lon": MEIYUAN[0], "lat": MEIYUAN[1]}
    for path, params in (("/layers", None), ("/layers/active", None), ("/resolve", point)):
        assert nobody.get(path, params=params).status_code == 401, path
        for key in ("info", "backup", "admin"):
            answer = client.get(path, params=params, headers=as_(client, key))
            assert answer.status_code == 200, (path, key, answer.text)
    assert nobody.post("/layers/squares@1/activate").status_code == 401


def test_active_layer_geojson(client):
    data = client.get("/layers/active").json()
    assert data["label"] == "squares@1"
    assert data["active"] is True
    communities = data["communities"]
    assert communities["type"] == "FeatureCollection"
    assert [f["properties"]["code"] for f in communities["features"]] == [
        "440303010001",
        "440303010002",
        "440303010003",
    ]
    assert communities["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert data["key_roads"]["features"][0]["properties"]["road_id"] == "R1"
    assert len(data["stations"]["features"]) == 3
    assert [s["code"] for s in data["squads"]] == ["west", "east"]
    # Valid GeoJSON that geopandas reads back.
    frame = gpd.GeoDataFrame.from_features(communities["features"], crs="EPSG:4326")
    assert len(frame) == 3


def test_resolve_point(client):
    data = client.get("/resolve", params={"lon": MEIYUAN[0], "lat": MEIYUAN[1]}).json()
    assert data["community_code"] == "440303010002"
    assert data["squad_name"] == "巡查一中队"
    assert data["outside"] is False
    assert data["layer_version"] == "squares@1"
    outside = client.get("/resolve", params={"lon": 114.2, "lat": 22.575}).json()
    assert outside["outside"] is True
    assert outside["nearest_community_code"] == "440303010003"
    assert outside["outside_m"] == pytest.approx(7200, rel=0.01)
    bad = client.get("/resolve", params={"lon": 114.1, "lat": 22.5, "crs": "mars"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "crs"
    nan = client.get("/resolve", params={"lon": "nan", "lat": 22.5})
    assert nan.status_code == 422
    assert nan.json()["detail"][0]["field"] == "lon"


def test_name_lookups(client):
    with _session(client) as session:
        assert layerstore.community_codes(session, "坭岗") == {"440303010001"}
        assert layerstore.community_codes(session, "QINGSHUIHE") == {"440303010003"}
        assert layerstore.squad_codes(session, "巡查二中队") == {"east"}
        with pytest.raises(InvalidInputError, match="梅园"):
            layerstore.community_codes(session, "nowhere")


def test_community_rows_per_version(client, test_pack):
    with _session(client) as session:
        layerstore.import_pack(session, _east_pack(test_pack), actor="t")
        session.commit()
        assert (
            session.scalar(
                select(Community.squad)
                .join(LayerVersion)
                .where(LayerVersion.label == "squares@2", Community.code == "440303010002")
            )
            == "east"
        )
    assert count_rows(client, Community) == 6


def _renamed_pack(pack):
    """Version 3: 梅园 is renamed 新梅园 (and its pinyin and English name change too)."""
    communities = pack.communities.copy()
    row = communities["code"] == "440303010002"
    communities.loc[row, "name_zh"] = "新梅园"
    communities.loc[row, "name_pinyin"] = "Xinmeiyuan"
    communities.loc[row, "name_en"] = "New Meiyuan"
    return type(pack)(
        name=pack.name,
        version="3",
        communities=communities,
        key_roads=pack.key_roads,
        stations=pack.stations,
        squads=pack.squads,
        places=pack.places,
        metadata=pack.metadata,
    )


def test_community_codes_ask_the_cached_lookup_first(client):
    engine = client.app.state.engine
    statements = []

    def count(*args):
        statements.append(args[2])

    with _session(client) as session:
        layer = client.app.state.jurisdiction_cache.get(session)
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert layerstore.community_codes(session, "坭岗", lookup=layer.community_lookup) == {
                "440303010001"
            }
            assert layerstore.community_codes(
                session, "MEIYUAN", lookup=layer.community_lookup
            ) == {"440303010002"}
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert statements == []  # answered from memory


def test_community_names_of_older_versions_still_filter(client, test_pack):
    before = client.post("/incidents", json=body(MEIYUAN)).json()
    with _session(client) as session:
        layerstore.import_pack(session, _renamed_pack(test_pack), actor="t", activate=True)
        session.commit()
        layer = client.app.state.jurisdiction_cache.get(session)
        assert "梅园" not in layer.community_lookup
        # Not in the active version: looked up in the stored ones.
        assert layerstore.community_codes(session, "梅园", lookup=layer.community_lookup) == {
            "440303010002"
        }
    after = client.post("/incidents", json=body(MEIYUAN)).json()
    assert after["resolution"]["community_name"] == "新梅园"
    for name in ("梅园", "新梅园", "new meiyuan", "440303010002"):
        listed = client.get("/incidents", params={"community": name}).json()
        assert sorted(i["id"] for i in listed["items"]) == sorted([before["id"], after["id"]])


# -- ensure_layers: the start-up import -----------------------------------------------------


def _no_versions(client):
    with _session(client) as session:
        for version in layerstore.list_versions(session):
            session.delete(version)
        session.commit()
    assert count_rows(client, LayerVersion) == 0


def test_ensure_layers_imports_once(client, settings):
    _no_versions(client)
    with _session(client) as session:
        assert layerstore.ensure_layers(session, settings, actor="system:startup") == "squares@1"
        session.commit()
    with _session(client) as session:
        assert layerstore.ensure_layers(session, settings, actor="system:startup") is None
        [version] = layerstore.list_versions(session)
    assert version.active
    assert version.created_by == "system:startup"


def test_ensure_layers_without_a_pack_raises_file_not_found(client, settings, tmp_path):
    _no_versions(client)
    with _session(client) as session, pytest.raises(FileNotFoundError):
        layerstore.ensure_layers(
            session, settings.model_copy(update={"layer_pack": tmp_path}), actor="system:startup"
        )


def test_ensure_layers_after_a_stale_check_carries_on(client, settings, monkeypatch):
    """Worker 2 checked before worker 1 committed: its import conflicts and is dropped."""
    _no_versions(client)
    with _session(client) as session:
        assert layerstore.ensure_layers(session, settings, actor="worker-1") == "squares@1"
        session.commit()
    monkeypatch.setattr(layerstore.store, "any_version", lambda _session: False)
    with _session(client) as session:
        assert layerstore.ensure_layers(session, settings, actor="worker-2") is None
        # The caller's transaction is still usable.
        session.add(AuditLog(actor="worker-2", action="start", entity="app", detail={}))
        session.commit()
    with _session(client) as session:
        [version] = layerstore.list_versions(session)
        assert (version.created_by, version.active) == ("worker-1", True)


def test_ensure_layers_concurrently_imports_once(client, settings, caplog):
    """Two workers start on an empty database: one imports, the other carries on."""
    _no_versions(client)
    factory = client.app.state.sessionmaker
    engine = client.app.state.engine

    def second_worker():
        with factory() as session:
            label = layerstore.ensure_layers(session, settings, actor="worker-2")
            session.commit()
            return label

    caplog.set_level(logging.INFO, logger="service.layers.service")
    with factory() as first, concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        assert layerstore.ensure_layers(first, settings, actor="worker-1") == "squares@1"
        future = pool.submit(second_worker)
        if engine.dialect.name == "postgresql":
            # Wait until worker 2 is blocked on worker 1's uncommitted label.
            deadline = time.monotonic() + 20
            with engine.connect() as conn:
                while not conn.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                    assert time.monotonic() < deadline, "worker 2 never waited for worker 1"
                    time.sleep(0.05)
        else:
            time.sleep(0.3)  # SpatiaLite: worker 2 waits for the writer lock to begin at all
        first.commit()
        assert future.result(timeout=60) is None
    assert count_rows(client, LayerVersion) == 1
    if engine.dialect.name == "postgresql":
        assert "imported by another process" in caplog.text
