"""Open311 GeoReport v2, tested as a client uses it: form POSTs, JSON and XML parsed back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from defusedxml import ElementTree as SafeET
from sqlalchemy import select

from geo import crs as geocrs
from service.incidents.categories import get_category
from service.incidents.models import Incident
from service.open311 import service as open311

from .helpers import (
    MEIYUAN,
    NIGANG,
    OUTSIDE,
    QINGSHUIHE,
    anonymous,
    as_,
    audit_rows,
    count_rows,
    limits_of,
)

BASE = "/open311/v2"
REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "lat",
    "long",
    "media_url",
)


# What a resident's app may send about the resident, none of which a read may show.
CONTACT = {
    "email": "someone@example.org",
    "first_name": "张",
    "last_name": "三",
    "phone": "13800000000",
}
PERSONAL_KEYS = {"reporter", "account_id", "device_id", *CONTACT}


def _new_client(client) -> dict[str, Any]:
    """A new Open311 client, made by the administrator: its id, name and (shown once) api_key.

    Clients are not removed between tests, so each gets a fresh name.
    """
    name = f"city-app-{uuid4().hex[:12]}"
    answer = client.post("/api-keys", json={"name": name}, headers=as_(client, "admin"))
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["name"] == name
    assert created["active"] is True
    assert created["api_key"]
    return created


@pytest.fixture
def app_client_key(client) -> dict[str, Any]:
    """This test's Open311 client (id, name, api_key)."""
    return _new_client(client)


@pytest.fixture
def key(app_client_key) -> str:
    """This test's api_key."""
    return app_client_key["api_key"]


@pytest.fixture
def public(client):
    """The app with no credentials: Open311 reads are public, and a POST needs only its key."""
    return anonymous(client)


def _form(point=MEIYUAN, *, key=None, **fields):
    data = {
        "service_code": "C01",
        "lat": str(point[1]),
        "long": str(point[0]),
        "description": "暴露垃圾",
        "account_id": "resident-42",
        "media_url": "https://example.org/p.jpg",
    }
    if key is not None:
        data["api_key"] = key
    data.update(fields)
    return data


def _number(request_id: str) -> str:
    """The incident's row id in a request id (QSH-2026-000001 -> "1"): the audit's entity_id."""
    return str(int(request_id.rsplit("-", 1)[1]))


def _xml(response):
    assert response.headers["content-type"].startswith("application/xml")
    return SafeET.fromstring(response.content)


def test_services_json_and_xml(public):
    services = public.get(f"{BASE}/services.json").json()
    assert len(services) == 21
    first = services[0]
    assert first["service_code"] == "C01"
    assert first["metadata"] is False
    assert first["type"] == "realtime"
    assert first["group"] == get_category("C01").lead_department
    assert "暴露垃圾" in first["keywords"].split(",")

    root = _xml(public.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    nodes = root.findall("service")
    assert len(nodes) == 21
    assert [n.findtext("service_code") for n in nodes] == [s["service_code"] for s in services]
    assert nodes[0].findtext("metadata") == "false"
    assert nodes[0].findtext("service_name") == services[0]["service_name"]


def test_service_definition(public):
    assert public.get(f"{BASE}/services/C05.json").json() == {
        "service_code": "C05",
        "attributes": [],
    }
    root = _xml(public.get(f"{BASE}/services/C05.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "C05"
    assert root.find("attributes") is not None


def test_unknown_service_404_in_both_formats(public):
    response = public.get(f"{BASE}/services/C99.json")
    assert response.status_code == 404
    [error] = response.json()
    assert error["code"] == 404
    assert "services.json" in error["description"]
    root = _xml(public.get(f"{BASE}/services/C99.xml"))
    assert root.tag == "errors"
    assert root.find("error").findtext("code") == "404"


def test_post_json_round_trip(client, public, key):
    response = public.post(
        f"{BASE}/requests.json",
        data=_form(
            key=key,
            address_string="梅园路 12 号",
            **CONTACT,
            **{"attribute[size]": "big"},
        ),
    )
    assert response.status_code == 201, response.text
    [created] = response.json()
    assert created["account_id"] == "resident-42"
    assert "梅园" in created["service_notice"]
    request_id = created["service_request_id"]

    [request] = public.get(f"{BASE}/requests/{request_id}.json").json()
    assert set(REQUEST_FIELDS) <= set(request)
    assert request["service_request_id"] == request_id
    assert request["status"] == "open"
    assert request["service_code"] == "C01"
    assert request["agency_responsible"] == "巡查一中队"
    assert request["address"] == "梅园路 12 号"
    assert request["lat"] == pytest.approx(MEIYUAN[1])
    assert request["long"] == pytest.approx(MEIYUAN[0])
    assert request["media_url"] == "https://example.org/p.jpg"
    requested = datetime.fromisoformat(request["requested_datetime"])
    expected = datetime.fromisoformat(request["expected_datetime"])
    assert requested.utcoffset() == timedelta(hours=8)
    assert expected - requested == timedelta(hours=get_category("C01").time_limit_hours)

    # Stored on the incidents table as a complaint; no personal data kept.
    factory = client.app.state.sessionmaker
    with factory() as session:
        incident = session.scalars(select(Incident)).one()
        assert incident.source == "complaint"
        assert incident.reporter == "open311-account:resident-42"
        stored = " ".join(str(v) for v in vars(incident).values())
    for personal in CONTACT.values():
        assert personal not in stored
    # The incidents API is not public: the dispatcher (the client's default) reads it.
    assert client.get(f"/incidents/{request_id}").json()["source"] == "complaint"
    assert public.get(f"/incidents/{request_id}").status_code == 401


def test_post_xml_round_trip(client, public, key):
    response = public.post(
        f"{BASE}/requests.xml",
        data=_form(QINGSHUIHE, key=key, account_id="", device_id="phone-7"),
    )
    assert response.status_code == 201
    root = _xml(response)
    assert root.tag == "service_requests"
    request_id = root.find("request").findtext("service_request_id")
    assert request_id.startswith("QSH-")

    root = _xml(public.get(f"{BASE}/requests/{request_id}.xml"))
    [node] = root.findall("request")
    assert node.findtext("service_request_id") == request_id
    assert node.findtext("status") == "open"
    assert node.findtext("agency_responsible") == "巡查二中队"
    assert float(node.findtext("lat")) == pytest.approx(QINGSHUIHE[1])
    assert float(node.findtext("long")) == pytest.approx(QINGSHUIHE[0])
    assert node.findtext("status_notes") == ""
    with client.app.state.sessionmaker() as session:
        assert session.scalars(select(Incident.reporter)).one() == "open311-device:phone-7"


def test_post_with_crs_extension(public, key):
    lon, lat = geocrs.from_wgs84([NIGANG[0]], [NIGANG[1]], target="bd09")
    response = public.post(
        f"{BASE}/requests.json", data=_form((float(lon[0]), float(lat[0])), key=key, crs="bd09")
    )
    assert response.status_code == 201
    [request] = public.get(
        f"{BASE}/requests/{response.json()[0]['service_request_id']}.json"
    ).json()
    assert request["long"] == pytest.approx(NIGANG[0], abs=1e-5)


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"service_code": ""}, 400, "service_code"),
        ({"service_code": "C99"}, 400, "service_code 'C99' not found"),  # a parameter: 400
        ({"lat": "", "long": ""}, 400, "lat and long"),
        ({"lat": "", "long": "", "address_string": "梅园路"}, 400, "address_string"),
        ({"lat": "north"}, 400, "lat"),
        ({"lat": "nan"}, 400, "finite"),
        ({"long": "inf"}, 400, "finite"),
        ({"lat": "122.5"}, 400, "lat:"),
        ({"crs": "mars"}, 400, "crs:"),
        ({"media_url": "ftp://example.org/x.jpg"}, 400, "media_url:"),
        ({"lat": str(OUTSIDE[1]), "long": str(OUTSIDE[0])}, 400, "location: The point"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_errors(client, public, key, fields, status, words, fmt):
    response = public.post(f"{BASE}/requests.{fmt}", data=_form(key=key, **fields))
    assert response.status_code == status, response.text
    if fmt == "json":
        [error] = response.json()
        assert error["code"] == status
        description = error["description"]
    else:
        root = _xml(response)
        assert root.tag == "errors"
        description = root.find("error").findtext("description")
        assert root.find("error").findtext("code") == str(status)
    assert words in description
    assert count_rows(client, Incident) == 0


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_json_body_says_send_a_form(client, public, key, fmt):
    # The client sends a valid api_key, but in a JSON body: it should be told to send a form.
    response = public.post(f"{BASE}/requests.{fmt}", json=_form(key=key))
    assert response.status_code == 400, (
        "SERVICE BUG: the api_key dependency (service/auth/service.py open311_client) reads the "
        "key from the form before create_request checks the media type, so a JSON body always "
        "gets 403 'api_key is missing or not valid' and the 400 'send a form' is unreachable: "
        f"{response.status_code} {response.text}"
    )
    description = (
        response.json()[0]["description"]
        if fmt == "json"
        else _xml(response).find("error").findtext("description")
    )
    assert "application/json" in description
    assert "application/x-www-form-urlencoded" in description
    assert "multipart/form-data" in description
    assert count_rows(client, Incident) == 0


def test_post_multipart_is_a_form_too(client, public, key):
    response = public.post(
        f"{BASE}/requests.json",
        data=_form(key=key),
        files={"media": ("p.jpg", b"jpeg", "image/jpeg")},
    )
    assert response.status_code == 201, response.text
    assert count_rows(client, Incident) == 1


@pytest.mark.parametrize(
    ("fields", "signed_in", "reporter"),
    [
        ({}, False, "open311-account:resident-42"),
        ({"account_id": "", "device_id": "phone-7"}, False, "open311-device:phone-7"),
        ({"account_id": ""}, False, None),
        # A bearer token (or the old X-Actor header) beside the key changes nothing: the
        # write is the Open311 client's.
        ({}, True, "open311-account:resident-42"),
    ],
)
def test_post_records_who_wrote_it(client, public, app_client_key, fields, signed_in, reporter):
    sender = client if signed_in else public
    response = sender.post(
        f"{BASE}/requests.json",
        data=_form(key=app_client_key["api_key"], **fields),
        headers={"X-Actor": "dispatcher-2"} if signed_in else {},
    )
    assert response.status_code == 201, response.text
    actor = f"open311:{app_client_key['name']}"
    with client.app.state.sessionmaker() as session:
        incident = session.scalars(select(Incident)).one()
        assert incident.created_by == actor
        assert incident.reporter == reporter
    [row] = audit_rows(client, entity="incident")
    assert row.action == "create"
    assert row.actor == actor
    assert row.role == "open311"
    assert row.entity_id == _number(response.json()[0]["service_request_id"])


def test_get_requests_filters(client, public, key):
    ids = {}
    for name, point, code in (
        ("a", NIGANG, "C01"),
        ("b", MEIYUAN, "C02"),
        ("c", QINGSHUIHE, "C02"),
    ):
        created = public.post(
            f"{BASE}/requests.json", data=_form(point, key=key, service_code=code)
        ).json()[0]
        ids[name] = created["service_request_id"]
    with client.app.state.sessionmaker() as session:
        incident = session.get(Incident, int(ids["c"].rsplit("-", 1)[1]))
        incident.status = "closed"
        session.commit()

    def listed(**params):
        response = public.get(f"{BASE}/requests.json", params=params)
        assert response.status_code == 200, response.text
        return sorted(r["service_request_id"] for r in response.json())

    assert listed() == sorted(ids.values())
    assert listed(service_code="C02") == sorted([ids["b"], ids["c"]])
    assert listed(status="open") == sorted([ids["a"], ids["b"]])
    assert listed(status="closed") == [ids["c"]]
    assert listed(service_request_id=f"{ids['a']},{ids['c']}") == sorted([ids["a"], ids["c"]])
    assert (
        listed(start_date="2000-01-01T00:00:00+08:00", end_date="2000-02-01T00:00:00+08:00") == []
    )
    assert listed(end_date="2099-01-01T00:00:00Z") == []  # 90 days before 2099: nothing
    closed = public.get(f"{BASE}/requests/{ids['c']}.json").json()[0]
    assert closed["status"] == "closed"
    root = _xml(public.get(f"{BASE}/requests.xml", params={"service_code": "C02"}))
    assert len(root.findall("request")) == 2


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start_date": "yesterday"}, "start_date"),
        ({"start_date": "2026-01-01T00:00:00"}, "zone"),
        ({"status": "pending"}, "open or closed"),
        ({"service_request_id": "what?"}, "service_request_id"),
        ({"service_request_id": "XXX-2026-000005"}, "not a request id of this service"),
        ({"service_request_id": "QSH-2026-5"}, "not a request id of this service"),
        ({"service_code": "C99"}, "service_code 'C99' not found"),
        ({"service_code": "C01,C99"}, "service_code 'C99' not found"),
        # A "+" sent unencoded arrives as a space.
        ({"start_date": "2026-01-01T00:00:00 08:00"}, "encode + as %2B"),
        ({"end_date": "2026-01-01T00:00:00.5 08:00"}, "encode + as %2B"),
        (
            {"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-04-01T00:00:01+08:00"},
            "at most 90",
        ),
        (
            {"start_date": "2026-02-01T00:00:00+08:00", "end_date": "2026-01-01T00:00:00+08:00"},
            "after end_date",
        ),
    ],
)
def test_get_requests_errors(public, params, words):
    response = public.get(f"{BASE}/requests.json", params=params)
    assert response.status_code == 400
    assert response.json()[0]["code"] == 400
    assert words in response.json()[0]["description"]


def test_ninety_days_exactly_is_allowed(public):
    response = public.get(
        f"{BASE}/requests.json",
        params={"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-04-01T00:00:00+08:00"},
    )
    assert response.status_code == 200
    assert response.json() == []


def _created_at(client, key, when):
    """A request whose requested_datetime is ``when`` (with a fraction of a second)."""
    created = anonymous(client).post(f"{BASE}/requests.json", data=_form(key=key)).json()[0]
    with client.app.state.sessionmaker() as session:
        incident = session.get(Incident, int(created["service_request_id"].rsplit("-", 1)[1]))
        incident.occurred_at = incident.reported_at = when
        session.commit()
    return created["service_request_id"]


def test_end_date_includes_the_second_it_names(client, public, key):
    when = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=700_000)
    request_id = _created_at(client, key, when)
    [shown] = public.get(f"{BASE}/requests/{request_id}.json").json()
    shown_at = shown["requested_datetime"]  # whole seconds: the .7 is cut
    assert "." not in shown_at

    def listed(**params):
        response = public.get(f"{BASE}/requests.json", params=params)
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    # A client that pages by the times it was shown gets the request back, at either end.
    assert listed(end_date=shown_at) == [request_id]
    assert listed(start_date=shown_at, end_date=shown_at) == [request_id]
    assert listed(start_date=shown_at) == [request_id]
    before = (datetime.fromisoformat(shown_at) - timedelta(seconds=1)).isoformat()
    assert listed(end_date=before) == []
    after = (datetime.fromisoformat(shown_at) + timedelta(seconds=1)).isoformat()
    assert listed(start_date=after) == []


def test_total_count_header_says_when_the_list_is_cut(public, key, monkeypatch):
    for _ in range(3):
        assert public.post(f"{BASE}/requests.json", data=_form(key=key)).status_code == 201
    response = public.get(f"{BASE}/requests.json")
    assert response.headers["x-total-count"] == "3"
    assert len(response.json()) == 3
    monkeypatch.setattr(open311, "MAX_REQUESTS", 2)
    for fmt in ("json", "xml"):
        response = public.get(f"{BASE}/requests.{fmt}")
        assert response.headers["x-total-count"] == "3"
    assert len(response.json() if fmt == "json" else _xml(response).findall("request")) == 2


def test_request_ids_are_strict_about_prefix_and_year(client, public, key):
    created = public.post(f"{BASE}/requests.json", data=_form(key=key)).json()[0]
    request_id = created["service_request_id"]
    prefix, year, number = request_id.split("-")
    other_year = f"{prefix}-{int(year) - 7}-{number}"

    def listed(ids):
        response = public.get(f"{BASE}/requests.json", params={"service_request_id": ids})
        if response.status_code != 200:
            return response.status_code, response.json()[0]["description"]
        return response.status_code, [r["service_request_id"] for r in response.json()]

    assert listed(request_id) == (200, [request_id])
    assert listed(request_id.lower()) == (200, [request_id])
    assert listed(str(int(number))) == (200, [request_id])
    # The list and the single read agree: another year names no request.
    assert listed(other_year) == (200, [])
    assert public.get(f"{BASE}/requests/{other_year}.json").status_code == 404
    assert listed(f"{other_year},{request_id}") == (200, [request_id])
    # Another prefix is not an id of this service: 400 for the list, 404 for the read.
    assert listed(f"XXX-{year}-{number}")[0] == 400
    assert public.get(f"{BASE}/requests/XXX-{year}-{number}.json").status_code == 404
    # The incidents API (the dispatcher's) agrees.
    assert client.get(f"/incidents/XXX-{year}-{number}").status_code == 404
    assert client.get(f"/incidents/{other_year}").status_code == 404


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_discovery(public, fmt):
    response = public.get(f"/open311/discovery.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        document = response.json()
        [endpoint] = document["endpoints"]
        formats = endpoint["formats"]
    else:
        root = _xml(response)
        assert root.tag == "discovery"
        document = {child.tag: child.text for child in root if child.tag != "endpoints"}
        [node] = root.find("endpoints").findall("endpoint")
        endpoint = {child.tag: child.text for child in node if child.tag != "formats"}
        formats = [f.text for f in node.find("formats").findall("format")]
    assert document["changeset"]
    assert "执法队" in document["contact"]
    assert "@" not in document["contact"]  # a role, no personal data
    assert document["key_service"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["type"] == "production"
    assert endpoint["changeset"]
    assert sorted(formats) == ["application/json", "text/xml"]
    # The endpoint it names answers.
    assert public.get(f"{endpoint['url']}/services.json").status_code == 200


def test_discovery_unknown_format_is_an_open311_error(public):
    response = public.get("/open311/discovery.csv")
    assert response.status_code == 400
    assert response.json()[0]["code"] == 400


def test_unknown_request_404(public):
    response = public.get(f"{BASE}/requests/QSH-2026-424242.json")
    assert response.status_code == 404
    assert response.json()[0]["code"] == 404
    root = _xml(public.get(f"{BASE}/requests/QSH-2026-424242.xml"))
    assert root.find("error").findtext("code") == "404"


def test_unknown_format_is_an_open311_error(public):
    response = public.get(f"{BASE}/services.csv")
    assert response.status_code == 400
    assert response.json()[0]["code"] == 400


def test_oversize_post_is_an_open311_413(client, public, key, settings):
    response = public.post(
        f"{BASE}/requests.xml",
        data=_form(key=key, description="x" * (settings.max_body_bytes + 1)),
    )
    assert response.status_code == 413
    assert _xml(response).find("error").findtext("code") == "413"
    assert count_rows(client, Incident) == 0


def test_post_retry_with_idempotency_key(client, public, key):
    headers = {"Idempotency-Key": "app-submit-77"}
    first = public.post(f"{BASE}/requests.json", data=_form(key=key), headers=headers)
    second = public.post(f"{BASE}/requests.json", data=_form(key=key), headers=headers)
    assert first.status_code == 201, first.text
    assert first.json() == second.json()
    assert count_rows(client, Incident) == 1


# -- the api_key -----------------------------------------------------------------------------


def _open311_error(response, fmt: str) -> tuple[int, str]:
    """The (code, description) of a GeoReport v2 error answer of one error."""
    if fmt == "json":
        assert response.headers["content-type"].startswith("application/json")
        [error] = response.json()
        assert set(error) == {"code", "description"}
        return error["code"], error["description"]
    root = _xml(response)
    assert root.tag == "errors"
    [node] = root.findall("error")
    return int(node.findtext("code")), node.findtext("description")


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    "api_key",
    [
        None,  # no key at all
        "",  # an empty one
        "not-a-key-anyone-was-given",
    ],
)
def test_post_without_a_valid_key_is_an_open311_403(client, public, app_client_key, api_key, fmt):
    response = public.post(f"{BASE}/requests.{fmt}", data=_form(key=api_key))
    assert response.status_code == 403, response.text
    code, description = _open311_error(response, fmt)
    assert code == 403
    assert "api_key" in description
    assert count_rows(client, Incident) == 0
    assert audit_rows(client, entity="incident") == []
    # The refusal itself is audited, as every refusal is.
    [refused] = audit_rows(client, action="refused")
    assert refused.actor == "anonymous"
    assert refused.detail["permission"] == "open311:key"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_signed_in_user_without_a_key_is_refused_too(client, fmt):
    # A bearer token is no api_key: Open311 writes come from Open311 clients only.
    response = client.post(f"{BASE}/requests.{fmt}", data=_form())
    assert response.status_code == 403, response.text
    assert _open311_error(response, fmt)[0] == 403
    assert count_rows(client, Incident) == 0


def test_missing_key_is_refused_before_the_form_is_judged(client, public):
    # Without a key, even a bad form gets the 403: nothing about the input is told.
    response = public.post(f"{BASE}/requests.json", data=_form(service_code="C99"))
    assert response.status_code == 403
    assert _open311_error(response, "json")[0] == 403
    assert count_rows(client, Incident) == 0


def test_revoked_key_stops_working(client, public, app_client_key):
    key = app_client_key["api_key"]
    assert public.post(f"{BASE}/requests.json", data=_form(key=key)).status_code == 201
    other = _new_client(client)  # another client's key is not touched

    revoked = client.delete(f"/api-keys/{app_client_key['id']}", headers=as_(client, "admin"))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["active"] is False
    assert "api_key" not in revoked.json()
    listed = client.get("/api-keys", headers=as_(client, "admin")).json()
    assert {c["name"]: c["active"] for c in listed}[app_client_key["name"]] is False

    for fmt in ("json", "xml"):
        response = public.post(f"{BASE}/requests.{fmt}", data=_form(key=key))
        assert response.status_code == 403, response.text
        assert _open311_error(response, fmt)[0] == 403
    assert count_rows(client, Incident) == 1
    assert public.post(f"{BASE}/requests.json", data=_form(key=other["api_key"])).status_code == 201
    assert count_rows(client, Incident) == 2
    [row] = audit_rows(client, entity="api_client", action="revoke")
    assert row.actor == "t-admin"
    assert row.entity_id == app_client_key["name"]


def test_only_the_admin_manages_keys(client, public, app_client_key):
    assert client.post("/api-keys", json={"name": "dispatch-made"}).status_code == 403
    assert public.post("/api-keys", json={"name": "anon-made"}).status_code == 401
    assert client.delete(f"/api-keys/{app_client_key['id']}").status_code == 403
    key = app_client_key["api_key"]
    assert public.post(f"{BASE}/requests.json", data=_form(key=key)).status_code == 201


def test_audit_of_an_open311_write_names_the_client(client, public, app_client_key):
    response = public.post(
        f"{BASE}/requests.json", data=_form(key=app_client_key["api_key"], **CONTACT)
    )
    assert response.status_code == 201, response.text
    request_id = response.json()[0]["service_request_id"]
    [row] = audit_rows(client, entity="incident", entity_id=_number(request_id))
    assert row.action == "create"
    assert row.actor == f"open311:{app_client_key['name']}"
    assert row.role == "open311"
    # The key is never in the audit, nor the contact fields.
    written = " ".join(str(v) for v in (row.before, row.after, row.detail))
    assert app_client_key["api_key"] not in written
    for personal in CONTACT.values():
        assert personal not in written
    # The administrator's audit read shows the same (by the client's actor: incident ids are
    # reused between tests, and the log is never emptied).
    page = client.get(
        "/audit",
        params={"actor": f"open311:{app_client_key['name']}"},
        headers=as_(client, "admin"),
    ).json()
    assert [(item["action"], item["entity"], item["entity_id"]) for item in page["items"]] == [
        ("create", "incident", _number(request_id))
    ]


# -- no personal data in the public reads ----------------------------------------------------


def test_reads_never_show_the_reporter_or_contact(client, public, key):
    ids = []
    for fields in ({"account_id": "resident-42"}, {"account_id": "", "device_id": "phone-7"}):
        response = public.post(f"{BASE}/requests.json", data=_form(key=key, **CONTACT, **fields))
        assert response.status_code == 201, response.text
        ids.append(response.json()[0]["service_request_id"])
    # Stored: the reporter is kept for the dispatcher, who may read it.
    reporters = {client.get(f"/incidents/{i}").json()["reporter"] for i in ids}
    assert reporters == {"open311-account:resident-42", "open311-device:phone-7"}
    secrets = ["resident-42", "phone-7", "open311-account", "open311-device", *CONTACT.values()]

    def check_json(response):
        assert response.status_code == 200, response.text
        items = response.json()
        assert items
        for item in items:
            assert not PERSONAL_KEYS & set(item)
        for secret in secrets:
            assert secret not in response.text

    def check_xml(response):
        assert response.status_code == 200, response.text
        nodes = _xml(response).findall("request")
        assert nodes
        for node in nodes:
            assert not PERSONAL_KEYS & {child.tag for child in node}
        for secret in secrets:
            assert secret not in response.text

    check_json(public.get(f"{BASE}/requests.json"))
    check_xml(public.get(f"{BASE}/requests.xml"))
    check_json(public.get(f"{BASE}/requests.json", params={"service_request_id": ",".join(ids)}))
    for request_id in ids:
        check_json(public.get(f"{BASE}/requests/{request_id}.json"))
        check_xml(public.get(f"{BASE}/requests/{request_id}.xml"))
    # Signed in changes nothing: the Open311 reads are the same for everyone.
    check_json(client.get(f"{BASE}/requests.json"))


def test_a_client_over_the_intake_limit_gets_a_georeport_429(client, public, key):
    from service.core.ratelimit import RateLimits

    with limits_of(client, RateLimits(per_user="2/minute", per_address="50/minute")):
        for _ in range(2):
            assert public.post(f"{BASE}/requests.json", data=_form(key=key)).status_code == 201
        refused = public.post(f"{BASE}/requests.xml", data=_form(key=key))
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    error = _xml(refused).find("error")
    assert error.findtext("code") == "429"
    assert "at most 2 per minute" in error.findtext("description")
