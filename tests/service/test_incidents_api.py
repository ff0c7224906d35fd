"""POST/GET /incidents on both databases: resolution, bad input, idempotency, duplicates, and
who may file and read which incidents (community and squad scope, the reporter's name)."""

from __future__ import annotations

import concurrent.futures
import json
from typing import Any

import pytest

from geo import crs as geocrs
from geo.errors import OutsideJurisdictionError
from service.incidents import service as crud
from service.incidents.models import Incident
from service.incidents.schemas import IncidentCreate

from .helpers import (
    MEIYUAN,
    NIGANG,
    ON_ROAD,
    OUTSIDE,
    QINGSHUIHE,
    anonymous,
    as_,
    audit_rows,
    body,
    count_rows,
    hours_ago,
    offset_m,
)


def _fields(response: Any) -> list[str | None]:
    return [item["field"] for item in response.json()["detail"]]


def _assert_nothing_stored(client: Any) -> None:
    assert count_rows(client, Incident) == 0
    assert audit_rows(client) == []


def _assert_only_refused(client: Any) -> None:
    """No incident stored and nothing audited but the refusal (403) itself."""
    assert count_rows(client, Incident) == 0
    assert [row.action for row in audit_rows(client)] == ["refused"]


# -- create ---------------------------------------------------------------------------------


def test_create_resolves_and_records(client):
    response = client.post("/incidents", json=body())  # as the test dispatcher
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["id"].startswith("QSH-")
    assert response.headers["location"] == f"/incidents/{data['id']}"
    resolution = data["resolution"]
    assert resolution["community_code"] == "440303010002"
    assert resolution["community_name"] == "梅园"
    assert resolution["squad"] == "west"
    assert resolution["squad_name"] == "巡查一中队"
    assert resolution["layer_version"] == "squares@1"
    assert resolution["near_boundary"] is False
    assert data["created_by"] == "t-dispatch"
    assert data["status"] == "reported"
    assert data["possible_duplicates"] == []
    assert count_rows(client, Incident) == 1
    [audit] = audit_rows(client)
    assert (audit.action, audit.entity) == ("create", "incident")
    assert audit.entity_id == str(data["number"])
    assert (audit.actor, audit.role) == ("t-dispatch", "dispatcher")
    assert audit.detail == {"idempotency_key": None}
    assert audit.before is None
    assert audit.after["category"] == "C02"
    assert audit.after["source"] == "daily_inspection"
    assert audit.after["status"] == "reported"
    assert audit.after["community"] == "440303010002"
    stored = client.get(f"/incidents/{data['id']}").json()
    assert stored["resolution"] == resolution
    assert client.get(f"/incidents/{data['number']}").json()["id"] == data["id"]


def test_actor_is_the_signed_in_user(client):
    # Who files is whoever is signed in: not a header, not a field of the body.
    assert client.post("/incidents", json=body()).json()["created_by"] == "t-dispatch"
    sent = client.post("/incidents", json=body(), headers={"X-Actor": "someone-else"})
    assert sent.json()["created_by"] == "t-dispatch"
    assert (
        client.post("/incidents", json=body(), headers=as_(client, "info")).json()["created_by"]
        == "t-info"
    )
    refused = client.post("/incidents", json=body(actor="info-officer-7"))
    assert refused.status_code == 422
    assert _fields(refused) == ["actor"]
    assert [row.actor for row in audit_rows(client, action="create")] == [
        "t-dispatch",
        "t-dispatch",
        "t-info",
    ]


def test_filing_needs_a_sign_in(client):
    response = anonymous(client).post("/incidents", json=body())
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert _fields(response) == ["Authorization"]
    assert "/auth/token" in response.json()["detail"][0]["fix"]
    _assert_nothing_stored(client)


def test_key_road_gives_the_road_squad(client):
    data = client.post("/incidents", json=body(ON_ROAD)).json()
    resolution = data["resolution"]
    assert resolution["community_squad"] == "west"
    assert resolution["squad"] == "east"
    assert resolution["key_road_id"] == "R1"
    assert resolution["key_road_m"] == pytest.approx(11.0, abs=1.0)
    assert "on_key_road" in data["flags"]


def test_near_boundary_flag(client):
    point = offset_m((114.11, 22.574), 10.0)  # 10 m east of the 泥岗/梅园 boundary
    data = client.post("/incidents", json=body(point, urgent=True)).json()
    assert data["resolution"]["community_code"] == "440303010002"
    assert data["resolution"]["near_boundary"] is True
    assert data["resolution"]["boundary_m"] == pytest.approx(10.0, abs=0.5)
    assert {"near_boundary", "urgent"} <= set(data["flags"])


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_gcj02_and_bd09_resolve_like_wgs84(client, crs):
    for point, code in (
        (NIGANG, "440303010001"),
        (MEIYUAN, "440303010002"),
        (QINGSHUIHE, "440303010003"),
    ):
        lon, lat = geocrs.from_wgs84([point[0]], [point[1]], target=crs)
        response = client.post("/incidents", json=body((float(lon[0]), float(lat[0])), crs=crs))
        assert response.status_code == 201, response.text
        data = response.json()
        assert data["resolution"]["community_code"] == code
        assert data["input_location"]["crs"] == crs
        # Stored in WGS84, within a metre of the true point.
        x, y = geocrs.to_metric(
            [data["location"]["lon"], point[0]], [data["location"]["lat"], point[1]]
        )
        assert abs(x[0] - x[1]) < 1.0
        assert abs(y[0] - y[1]) < 1.0


def test_undeclared_gcj02_point_resolves_elsewhere(client):
    # Why crs matters: a GCJ-02 point sent as WGS84 lands hundreds of metres away.
    lon, lat = geocrs.wgs84_to_gcj02([114.1095], [22.574])
    declared = client.post("/incidents", json=body((float(lon[0]), float(lat[0])), crs="gcj02"))
    undeclared = client.post("/incidents", json=body((float(lon[0]), float(lat[0]))))
    assert declared.json()["resolution"]["community_code"] == "440303010001"
    assert undeclared.json()["resolution"]["community_code"] == "440303010002"


# -- bad input: named field, a fix, nothing stored -----------------------------------------

BAD_INPUTS = {
    "lat out of range": ({"location": {"lon": 114.1, "lat": 122.5}}, 422, "location.lat"),
    "lon out of range": ({"location": {"lon": 214.1, "lat": 22.5}}, 422, "location.lon"),
    "unknown crs": (
        {"location": {"lon": 114.115, "lat": 22.574, "crs": "utm50"}},
        422,
        "location.crs",
    ),
    "unknown category": ({"category": "C99"}, 422, "category"),
    "unknown source": ({"source": "rumour"}, 422, "source"),
    "naive occurred_at": ({"occurred_at": "2026-11-26T09:00:00"}, 422, "occurred_at"),
    "naive reported_at": ({"reported_at": "2026-11-26T09:00:00"}, 422, "reported_at"),
    "malformed time": ({"occurred_at": "yesterday morning"}, 422, "occurred_at"),
    "future time": ({"occurred_at": "2099-01-01T09:00:00+08:00"}, 422, "occurred_at"),
    "occurred after reported": (
        {"occurred_at": hours_ago(1), "reported_at": hours_ago(2)},
        422,
        "reported_at",
    ),
    "ftp photo": ({"photo_urls": ["ftp://example.org/a.jpg"]}, 422, "photo_urls[0]"),
    "not a url": ({"photo_urls": ["photo.jpg"]}, 422, "photo_urls[0]"),
    "typo field": ({"lng": 114.1}, 422, "lng"),
    "string lon": ({"location": {"lon": "east", "lat": 22.574}}, 422, "location.lon"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_names_field_and_fix(client, case):
    override, status, field = BAD_INPUTS[case]
    response = client.post("/incidents", json=body(**override))
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert field in [item["field"] for item in detail]
    assert all(item["fix"] and item["message"] for item in detail)
    _assert_nothing_stored(client)


@pytest.mark.parametrize("missing", ["category", "location", "occurred_at", "source"])
def test_missing_fields(client, missing):
    data = body()
    del data[missing]
    response = client.post("/incidents", json=data)
    assert response.status_code == 422
    assert _fields(response) == [missing]
    assert response.json()["detail"][0]["fix"] == f"add {missing}."
    _assert_nothing_stored(client)


def test_reported_before_occurred_names_reported_at(client):
    response = client.post(
        "/incidents", json=body(occurred_at=hours_ago(1), reported_at=hours_ago(2))
    )
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["field"] == "reported_at"
    assert "before occurred_at" in item["message"]
    assert "at or after occurred_at" in item["fix"]
    assert "+08:00" in item["fix"]
    _assert_nothing_stored(client)


def test_empty_idempotency_key_names_the_header(client):
    response = client.post("/incidents", json=body(), headers={"Idempotency-Key": ""})
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["field"] == "Idempotency-Key"
    assert "non-empty key" in item["fix"]
    _assert_nothing_stored(client)


def test_form_body_says_send_json(client):
    response = client.post("/incidents", data={"category": "C01", "source": "patrol"})
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["field"] == "body"
    assert "application/json" in item["fix"]
    _assert_nothing_stored(client)


def test_empty_optional_text_says_leave_it_out(client):
    response = client.post("/incidents", json=body(reporter=""))
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["field"] == "reporter"
    assert "at least 1 character" in item["fix"]


def test_naive_time_says_add_a_zone(client):
    response = client.post("/incidents", json=body(occurred_at="2026-11-26T09:00:00"))
    assert "+08:00" in response.json()["detail"][0]["fix"]


def test_unknown_category_lists_codes(client):
    item = client.post("/incidents", json=body(category="C99")).json()["detail"][0]
    assert "C01" in item["message"]
    assert "C21" in item["message"]
    assert "/categories" in item["fix"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_refused(client, literal):
    raw = json.dumps(body()).replace('"lon": 114.115', f'"lon": {literal}')
    assert literal in raw
    response = client.post("/incidents", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert _fields(response) == ["location.lon"]
    assert "finite" in response.json()["detail"][0]["fix"]
    _assert_nothing_stored(client)


def test_malformed_json(client):
    response = client.post(
        "/incidents", content=b'{"category": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    _assert_nothing_stored(client)


def test_outside_names_distance_and_nearest(client):
    response = client.post("/incidents", json=body(OUTSIDE))
    assert response.status_code == 422
    item = response.json()["detail"][0]
    assert item["field"] == "location"
    assert "7,1" in item["message"]  # about 7.1 km
    assert "m outside" in item["message"]
    assert "清水河" in item["message"]
    assert "crs" in item["fix"]
    assert "swapped" in item["fix"]
    _assert_nothing_stored(client)


def test_crud_raises_outside_jurisdiction_error(client):
    """The one error for a point outside: raised by crud, answered by one handler."""
    factory = client.app.state.sessionmaker
    with factory() as session:
        layer = client.app.state.jurisdiction_cache.get(session)
        with pytest.raises(OutsideJurisdictionError, match=r"7,1\d\d m outside.*清水河"):
            crud.create_incident(
                session=session,
                incident_in=IncidentCreate.model_validate(body(OUTSIDE)),
                actor="t",
                jurisdiction=layer.jurisdiction,
                layer_version_id=layer.version_id,
            )
    _assert_nothing_stored(client)


def test_swapped_lon_lat_is_pointed_out(client):
    response = client.post("/incidents", json=body((MEIYUAN[1], MEIYUAN[0])))
    assert response.status_code == 422
    assert _fields(response) == ["location.lat"]
    assert "swapped" in response.json()["detail"][0]["fix"]
    _assert_nothing_stored(client)


def test_oversize_body_413(client, settings):
    big = body(description="x" * (settings.max_body_bytes + 10))
    response = client.post("/incidents", json=big)
    assert response.status_code == 413
    assert response.json()["detail"][0]["fix"]
    _assert_nothing_stored(client)


def test_oversize_streamed_body_413(client, settings):
    # No Content-Length: the body arrives in chunks and is counted as it streams.
    chunk = b"x" * 65536
    chunks = (settings.max_body_bytes // len(chunk)) + 2

    def stream():
        yield b'{"description": "'
        for _ in range(chunks):
            yield chunk
        yield b'"}'

    response = client.post(
        "/incidents", content=stream(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    _assert_nothing_stored(client)


# -- idempotency ----------------------------------------------------------------------------


def test_idempotent_retry_stores_one(client):
    data = body()
    headers = {"Idempotency-Key": "report-0001", **as_(client, "info")}
    first = client.post("/incidents", json=data, headers=headers)
    second = client.post("/incidents", json=data, headers=headers)
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert first.json()["created_by"] == "t-info"
    assert count_rows(client, Incident) == 1
    [audit] = audit_rows(client)
    assert audit.action == "create"
    assert audit.detail == {"idempotency_key": "report-0001"}


def test_idempotency_key_with_other_body_conflicts(client):
    headers = {"Idempotency-Key": "report-0002"}
    assert client.post("/incidents", json=body(), headers=headers).status_code == 201
    response = client.post("/incidents", json=body(description="另一件事"), headers=headers)
    assert response.status_code == 409
    item = response.json()["detail"][0]
    assert item["field"] == "Idempotency-Key"
    assert "report-0002" in item["message"]
    assert count_rows(client, Incident) == 1


def test_concurrent_retries_store_one(client):
    data = body()
    headers = {"Idempotency-Key": "report-concurrent"}
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(
            pool.map(lambda _: client.post("/incidents", json=data, headers=headers), range(6))
        )
    assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert count_rows(client, Incident) == 1
    assert len(audit_rows(client)) == 1


# -- duplicates -----------------------------------------------------------------------------


def _post(client, point, **fields):
    response = client.post("/incidents", json=body(point, **fields))
    assert response.status_code == 201, response.text
    return response.json()


def test_duplicate_within_50m_and_24h(client):
    first = _post(client, MEIYUAN, occurred_at=hours_ago(10))
    second = _post(client, offset_m(MEIYUAN, 30.0, 30.0), occurred_at=hours_ago(1))
    [candidate] = second["possible_duplicates"]
    assert candidate["id"] == first["id"]
    assert candidate["distance_m"] == pytest.approx(42.4, abs=0.5)
    assert candidate["hours_apart"] == pytest.approx(9.0, abs=0.01)


@pytest.mark.parametrize(
    ("east_m", "hours", "category", "expected"),
    [
        (45.0, 1.0, "C02", 1),
        (60.0, 1.0, "C02", 0),  # too far
        (10.0, 25.0, "C02", 0),  # too long before
        (10.0, 1.0, "C01", 0),  # another category
    ],
)
def test_duplicate_rule(client, east_m, hours, category, expected):
    _post(client, MEIYUAN, occurred_at=hours_ago(hours + 0.5))
    data = _post(client, offset_m(MEIYUAN, east_m), occurred_at=hours_ago(0.5), category=category)
    assert len(data["possible_duplicates"]) == expected


def test_duplicates_list_the_nearest_five_and_count_all(client):
    # Eight earlier reports 40, 35, ... 5 m west of the spot, the farthest filed first.
    earlier = [
        _post(client, offset_m(MEIYUAN, -5.0 * k), occurred_at=hours_ago(2))["id"]
        for k in range(8, 0, -1)
    ]
    data = _post(client, MEIYUAN, occurred_at=hours_ago(1))
    assert data["possible_duplicates_total"] == 8
    listed = data["possible_duplicates"]
    assert [d["id"] for d in listed] == earlier[::-1][:5]  # 5, 10, ... 25 m
    assert [d["distance_m"] for d in listed] == pytest.approx([5, 10, 15, 20, 25], abs=0.2)


def test_closed_incidents_are_not_duplicates(client):
    first = _post(client, MEIYUAN)
    factory = client.app.state.sessionmaker
    with factory() as session:
        session.get(Incident, first["number"]).status = "closed"
        session.commit()
    assert _post(client, MEIYUAN)["possible_duplicates"] == []


# -- read and filter ------------------------------------------------------------------------


def _seed(client):
    """Five incidents filed by the dispatcher: 泥岗 twice, 梅园, 清水河 and the key road in 梅园
    (answered by the east squad); returned in that order."""
    return [
        _post(client, NIGANG, category="C01", source="complaint", occurred_at=hours_ago(50)),
        _post(client, NIGANG, category="C02", occurred_at=hours_ago(5)),
        _post(client, MEIYUAN, category="C02", source="patrol", occurred_at=hours_ago(3)),
        _post(client, QINGSHUIHE, category="C04", occurred_at=hours_ago(2)),
        _post(client, ON_ROAD, category="C02", occurred_at=hours_ago(1)),
    ]


def _ids(response):
    assert response.status_code == 200, response.text
    return [item["resolution"]["community_code"] for item in response.json()["items"]]


def test_list_newest_first_and_pages(client):
    _seed(client)
    everything = client.get("/incidents").json()
    assert everything["total"] == 5
    times = [item["occurred_at"] for item in everything["items"]]
    assert times == sorted(times, reverse=True)
    page = client.get("/incidents", params={"limit": 2, "offset": 2}).json()
    assert [i["id"] for i in page["items"]] == [i["id"] for i in everything["items"][2:4]]


@pytest.mark.parametrize("name", ["坭岗", "泥岗", "440303010001", "Nigang", "nigang"])
def test_filter_community_by_code_name_or_alias(client, name):
    _seed(client)
    assert _ids(client.get("/incidents", params={"community": name})) == ["440303010001"] * 2


def test_filter_unknown_community(client):
    response = client.get("/incidents", params={"community": "火星"})
    assert response.status_code == 422
    assert _fields(response) == ["community"]
    assert "泥岗" in response.json()["detail"][0]["fix"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"squad": "east"}, 2),  # 清水河 and the key-road incident (road squad east)
        ({"squad": "巡查一中队"}, 3),  # answered by west: not the road incident in 梅园
        ({"community_squad": "west"}, 4),  # in a west community, incl. the road incident
        ({"community_squad": "巡查二中队"}, 1),  # 清水河 only
        ({"squad": "east", "community_squad": "west"}, 1),  # the road incident
        ({"category": "C02"}, 3),
        ({"category": "2"}, 3),
        ({"source": "complaint"}, 1),
        ({"status": "reported"}, 5),
        ({"status": "closed"}, 0),
        ({"bbox": "114.10,22.57,114.11,22.58"}, 2),
        ({"bbox": "114.11,22.57,114.13,22.58", "category": "C02"}, 2),
    ],
)
def test_filters(client, params, expected):
    _seed(client)
    assert client.get("/incidents", params=params).json()["total"] == expected


def test_open_filter_and_several_statuses_make_one_queue_request(client):
    _seed(client)
    number = client.get("/incidents", params={"limit": 1}).json()["items"][0]["number"]
    with client.app.state.sessionmaker() as session:
        session.get(Incident, number).status = "verified_closed"
        session.commit()

    def total(params):
        response = client.get("/incidents", params=params)
        assert response.status_code == 200, response.text
        return response.json()["total"]

    assert total({"open": "true"}) == 4
    assert total({"open": "false"}) == 1
    assert total({"status": ["reported", "verified_closed"]}) == 5
    assert total({"status": "reported", "open": "false"}) == 0


def test_filter_since_until(client):
    _seed(client)
    assert client.get("/incidents", params={"since": hours_ago(4)}).json()["total"] == 3
    assert client.get("/incidents", params={"until": hours_ago(4)}).json()["total"] == 2
    response = client.get("/incidents", params={"since": "2026-11-26T09:00:00"})
    assert response.status_code == 422
    assert _fields(response) == ["since"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"category": "C99"}, "category"),
        ({"status": "lost"}, "status[0]"),
        ({"limit": 0}, "limit"),
        ({"format": "kml"}, "format"),
        ({"squad": "巡查九中队"}, "squad"),
        ({"community_squad": "north"}, "community_squad"),
    ],
)
def test_bad_filters(client, params, field):
    response = client.get("/incidents", params=params)
    assert response.status_code == 422
    assert _fields(response) == [field]


@pytest.mark.parametrize(
    ("bbox", "words"),
    [
        ("114.10,200,114.13,22.58", "minlat '200'"),  # lat 200 was accepted
        ("114.10,22.57,114.13,-90.5", "maxlat '-90.5'"),
        ("181,22.57,182,22.58", "minlon '181'"),
        ("114.10,22.57,nan,22.58", "maxlon 'nan'"),
        ("114.10,22.57,inf,22.58", "maxlon 'inf'"),
        ("114.13,22.57,114.10,22.58", "minlon 114.13 is not below maxlon 114.1"),
        ("114.10,22.58,114.13,22.58", "minlat 22.58 is not below maxlat 22.58"),
        ("22.57,114.10,22.58,114.13", "minlat '114.10'"),  # swapped: lat 114
    ],
)
def test_bbox_names_the_bad_value(client, bbox, words):
    response = client.get("/incidents", params={"bbox": bbox})
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert item["field"] == "bbox"
    assert words in item["message"]
    assert "minlon,minlat,maxlon,maxlat" in item["fix"]


@pytest.mark.parametrize("how", ["format", "accept"])
def test_geojson(client, how):
    _seed(client)
    kwargs: dict[str, Any] = (
        {"params": {"format": "geojson"}}
        if how == "format"
        else {"headers": {"Accept": "application/geo+json"}}
    )
    response = client.get("/incidents", **kwargs)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == 5
    feature = collection["features"][-1]
    assert feature["geometry"]["type"] == "Point"
    assert feature["geometry"]["coordinates"] == pytest.approx(list(NIGANG))
    assert feature["properties"]["resolution"]["community_name"] == "泥岗"
    assert feature["id"] == feature["properties"]["id"]


# -- scope: who files and reads which incidents ---------------------------------------------


def test_info_officer_files_in_own_community_only(client):
    officer = as_(client, "info")  # 梅园 440303010002
    mine = client.post("/incidents", json=body(MEIYUAN), headers=officer)
    assert mine.status_code == 201, mine.text
    assert mine.json()["resolution"]["community_code"] == "440303010002"
    assert mine.json()["created_by"] == "t-info"
    elsewhere = client.post(
        "/incidents", json=body(QINGSHUIHE), headers={"Idempotency-Key": "qsh-1", **officer}
    )
    assert elsewhere.status_code == 403, elsewhere.text
    [item] = elsewhere.json()["detail"]
    assert item["field"] == "location"
    assert "440303010003" in item["message"]
    assert item["fix"]
    # Nothing of the refused report is stored: only the refusal itself is audited.
    assert count_rows(client, Incident) == 1
    assert [row.action for row in audit_rows(client)] == ["create", "refused"]
    [refusal] = audit_rows(client, action="refused")
    assert (refusal.actor, refusal.role) == ("t-info", "info_officer")
    assert refusal.detail["permission"] == "scope:community"
    # Nor is the idempotency key: the dispatcher may file the same report under it.
    again = client.post("/incidents", json=body(QINGSHUIHE), headers={"Idempotency-Key": "qsh-1"})
    assert again.status_code == 201, again.text
    assert count_rows(client, Incident) == 2


def test_info_officer_lists_own_community_only(client):
    _seed(client)
    officer = as_(client, "info")
    listed = client.get("/incidents", headers=officer)
    assert _ids(listed) == ["440303010002"] * 2  # 梅园 and the key road in 梅园
    assert listed.json()["total"] == 2
    geojson = client.get("/incidents", params={"format": "geojson"}, headers=officer).json()
    assert {f["properties"]["resolution"]["community_code"] for f in geojson["features"]} == {
        "440303010002"
    }
    # A filter for another community narrows the scope; it does not widen it.
    assert client.get("/incidents", params={"community": "泥岗"}, headers=officer).json() == {
        "total": 0,
        "limit": 100,
        "offset": 0,
        "items": [],
    }
    assert _ids(client.get("/incidents", headers=as_(client, "info-qsh"))) == ["440303010003"]


def test_info_officer_reads_other_community_as_missing(client):
    seeded = _seed(client)
    officer = as_(client, "info")
    qingshuihe, meiyuan = seeded[3], seeded[2]
    for incident_id in (qingshuihe["id"], str(qingshuihe["number"])):
        response = client.get(f"/incidents/{incident_id}", headers=officer)
        assert response.status_code == 404, response.text
        assert response.json()["detail"][0]["fix"]
        assert "清水河" not in response.text
    assert client.get(f"/incidents/{meiyuan['id']}", headers=officer).status_code == 200
    # The officer of 清水河 reads it.
    assert (
        client.get(f"/incidents/{qingshuihe['id']}", headers=as_(client, "info-qsh")).json()["id"]
        == qingshuihe["id"]
    )


def test_out_of_scope_incident_is_answered_like_a_missing_one(client):
    qingshuihe = _post(client, QINGSHUIHE)
    officer = as_(client, "info")
    hidden = client.get(f"/incidents/{qingshuihe['id']}", headers=officer)
    missing = client.get("/incidents/QSH-2026-999999", headers=officer)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == json.loads(missing.text.replace("QSH-2026-999999", qingshuihe["id"]))


def test_squad_leader_lists_own_squad_only(client):
    seeded = _seed(client)
    east = client.get("/incidents", headers=as_(client, "squad-east"))
    assert east.status_code == 200, east.text
    # 清水河, and the key-road incident in 梅园 that the east squad answers for.
    assert {i["id"] for i in east.json()["items"]} == {seeded[3]["id"], seeded[4]["id"]}
    assert east.json()["total"] == 2
    assert all(
        "east" in (i["resolution"]["squad"], i["resolution"]["community_squad"])
        for i in east.json()["items"]
    )
    west = client.get("/incidents", headers=as_(client, "squad-west")).json()
    assert {i["id"] for i in west["items"]} == {d["id"] for d in seeded} - {seeded[3]["id"]}
    nigang = client.get(f"/incidents/{seeded[0]['id']}", headers=as_(client, "squad-east"))
    assert nigang.status_code == 404


@pytest.mark.parametrize(
    ("key", "sees_reporter"),
    [
        ("leader", False),
        ("info", False),
        ("squad-west", False),
        ("case", True),
        ("dispatch", True),
    ],
)
def test_reporter_only_for_the_roles_that_act_on_reports(client, key, sees_reporter):
    seeded = _seed(client)
    meiyuan = seeded[2]  # in every one of these roles' scope
    expected = "info-group:440303010002" if sees_reporter else None
    headers = as_(client, key)
    items = client.get("/incidents", headers=headers).json()["items"]
    assert items
    assert {i["reporter"] for i in items} == {expected}
    geojson = client.get("/incidents", params={"format": "geojson"}, headers=headers).json()
    assert {f["properties"]["reporter"] for f in geojson["features"]} == {expected}
    one = client.get(f"/incidents/{meiyuan['id']}", headers=headers)
    assert one.status_code == 200, one.text
    assert one.json()["reporter"] == expected


@pytest.mark.parametrize("key", ["backup", "admin"])
def test_roles_without_incidents_are_refused(client, key):
    seeded = _seed(client)
    headers = as_(client, key)
    assert client.get("/incidents", headers=headers).status_code == 403
    assert client.get(f"/incidents/{seeded[0]['id']}", headers=headers).status_code == 403
    refused = client.post("/incidents", json=body(), headers=headers)
    assert refused.status_code == 403
    assert refused.json()["detail"][0]["message"]
    assert count_rows(client, Incident) == len(seeded)


@pytest.mark.parametrize("key", ["squad-west", "case", "leader"])
def test_only_officers_and_dispatchers_file(client, key):
    response = client.post("/incidents", json=body(), headers=as_(client, key))
    assert response.status_code == 403, response.text
    _assert_only_refused(client)


def test_reading_needs_a_sign_in(client):
    _seed(client)
    assert anonymous(client).get("/incidents").status_code == 401


@pytest.mark.parametrize("incident_id", ["QSH-2026-999999", "999999", "nonsense", "XX-1-1"])
def test_read_missing_incident_404(client, incident_id):
    response = client.get(f"/incidents/{incident_id}")
    assert response.status_code == 404
    assert _fields(response) == ["id"]
    assert response.json()["detail"][0]["fix"]


def test_categories(client):
    categories = client.get("/categories").json()
    assert [c["code"] for c in categories] == [f"C{i:02d}" for i in range(1, 22)]
    assert all(c["name_zh"] and c["lead_department"] for c in categories)


def test_unknown_route_uses_error_format(client):
    response = client.get("/no-such-thing")
    assert response.status_code == 404
    assert response.json()["detail"][0]["fix"]


def test_healthz_and_docs(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    # The test pack has no roads: ready for intake, with no road graph to report.
    ready = client.get("/readyz", headers={"Authorization": ""})
    assert ready.json() == {"status": "ready", "layer_version": "squares@1", "road_nodes": None}
    assert client.get("/docs").status_code == 200
    page = client.get("/")  # the map page, from routes/map.py
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    # The first page leads to the others.
    for href in ("href='/console'", "href='/maps/hotspots'", "href='/docs'"):
        assert href in page.text
    assert 'href="/maps/hotspots"' in client.get("/console").text
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/incidents",
        "/incidents/{incident_id}",
        "/categories",
        "/resolve",
        "/layers",
        "/layers/active",
        "/open311/v2/requests.{fmt}",
    } <= set(paths)
