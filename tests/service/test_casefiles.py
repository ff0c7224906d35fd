"""Case files (issue 14 §3) on both databases: the whole file of a filed case, documents,
archiving a closed case, typical cases, retrieval, and who may do what."""

from __future__ import annotations

from service.casefiles.models import CaseFile
from tests.service.casework import MEIYUAN_CODE, worked
from tests.service.helpers import as_, audit_rows, count_rows

__all__ = ["worked"]  # the fixture, used by name

DOCUMENT = {
    "kind": "notice",
    "title": "责令改正通知书 (2026) 第 17 号",
    "url": "https://docs.example.org/cases/17.pdf",
}


def test_the_file_of_a_closed_case_holds_its_story(worked):
    client, a = worked["client"], worked["numbers"]["A"]
    answer = client.get(f"/casefiles/{a}", headers=as_(client, "case"))
    assert answer.status_code == 200, answer.text
    read = answer.json()
    assert read["incident"]["id"] == a
    assert read["incident"]["photo_urls"] == ["https://example.org/photo/1.jpg"]
    assert read["outcome"] == "verified_closed"
    steps = [event["step"] for event in read["timeline"]]
    assert steps[0] == "reported"
    assert steps[1:] == ["accepted", "dispatched", "handled", "verified_closed"]
    assert read["clocks"]["overdue"] is False
    assert read["clocks"]["closed_at"] is not None
    assert (read["archived"], read["typical"], read["documents"]) == (False, False, [])
    assert count_rows(client, CaseFile) == 0  # reading writes nothing


def test_documents_archive_and_typical_are_audited_and_retrievable(worked):
    client, numbers = worked["client"], worked["numbers"]
    a = numbers["A"]
    added = client.post(f"/casefiles/{a}/documents", json=DOCUMENT, headers=as_(client, "case"))
    assert added.status_code == 201, added.text
    [document] = added.json()["documents"]
    assert (document["kind"], document["added_by"]) == ("notice", "t-case")
    summary = "流动摊贩早高峰占道经营, 劝导后 20 分钟内清理完毕, 未再复发。"
    typical = client.put(
        f"/casefiles/{a}/typical", json={"summary": summary}, headers=as_(client, "case")
    )
    assert typical.status_code == 200, typical.text
    archived = client.post(
        f"/casefiles/{a}/archive", json={"note": "纸质卷宗一份"}, headers=as_(client, "case")
    )
    assert archived.status_code == 200, archived.text
    read = archived.json()
    assert (read["archived"], read["archived_by"], read["typical_summary"]) == (
        True,
        "t-case",
        summary,
    )
    # An archived file takes no new documents and is not archived twice.
    late = client.post(f"/casefiles/{a}/documents", json=DOCUMENT, headers=as_(client, "case"))
    assert late.status_code == 409
    assert late.json()["detail"][0]["field"] == "incident_id"
    again = client.post(f"/casefiles/{a}/archive", json={}, headers=as_(client, "case"))
    assert again.status_code == 409
    actions = [row.action for row in audit_rows(client, entity="case_file")]
    assert actions == ["case_document_add", "case_typical_mark", "case_file_archive"]
    # Retrieval: typical cases of November; text; archived; the leader reads them too.
    period = {"start": "2026-11-01", "end": "2026-11-30"}
    found = client.get(
        "/casefiles", params={**period, "typical": "true"}, headers=as_(client, "leader")
    )
    assert found.status_code == 200, found.text
    assert [(i["id"], i["documents"], i["archived"]) for i in found.json()["items"]] == [
        (a, 1, True)
    ]
    listed = client.get("/casefiles", params=period, headers=as_(client, "case")).json()
    # Filed and valid: A, D, E, F in 梅园 and G in 清水河 (B rejected, C duplicate are not).
    assert listed["total"] == 5
    assert {i["id"] for i in listed["items"]} == {numbers[k] for k in "ADEFG"}
    by_text = client.get(
        "/casefiles", params={**period, "q": "早高峰"}, headers=as_(client, "case")
    ).json()
    assert [i["id"] for i in by_text["items"]] == [a]
    meiyuan = client.get(
        "/casefiles",
        params={**period, "community": MEIYUAN_CODE, "archived": "false"},
        headers=as_(client, "case"),
    ).json()
    assert {i["id"] for i in meiyuan["items"]} == {numbers[k] for k in "DEF"}


def test_only_filed_cases_have_files_and_only_closed_ones_are_archived(worked):
    client, numbers = worked["client"], worked["numbers"]
    rejected = client.get(f"/casefiles/{numbers['B']}", headers=as_(client, "case"))
    assert rejected.status_code == 404
    assert "not a filed case" in rejected.json()["detail"][0]["message"]
    open_case = client.post(
        f"/casefiles/{numbers['D']}/archive", json={}, headers=as_(client, "case")
    )
    assert open_case.status_code == 409
    assert "only a closed case is archived" in open_case.json()["detail"][0]["message"]
    assert count_rows(client, CaseFile) == 0  # the refusal stored nothing
    not_typical = client.delete(f"/casefiles/{numbers['D']}/typical", headers=as_(client, "case"))
    assert not_typical.status_code == 409
    short = client.put(
        f"/casefiles/{numbers['D']}/typical", json={"summary": "短"}, headers=as_(client, "case")
    )
    assert short.status_code == 422
    assert short.json()["detail"][0]["field"] == "summary"
    bad_url = client.post(
        f"/casefiles/{numbers['D']}/documents",
        json={**DOCUMENT, "url": "not a url"},
        headers=as_(client, "case"),
    )
    assert bad_url.status_code == 422
    assert bad_url.json()["detail"][0]["field"] == "url"


def test_who_may_read_and_write_case_files(worked):
    client, a = worked["client"], worked["numbers"]["A"]
    for who in ("info", "dispatch", "squad-west"):
        assert client.get(f"/casefiles/{a}", headers=as_(client, who)).status_code == 403, who
    leader = client.post(f"/casefiles/{a}/documents", json=DOCUMENT, headers=as_(client, "leader"))
    assert leader.status_code == 403
    read = client.get(f"/casefiles/{a}", headers=as_(client, "leader")).json()
    assert read["incident"]["reporter"] is None  # the leader does not see who reported
    assert client.get(f"/casefiles/{a}", headers=as_(client, "case")).json()["incident"]["reporter"]
