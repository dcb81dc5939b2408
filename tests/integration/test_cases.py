"""Cases over HTTP: open, read, list, change; references, versions and events."""

import re
import threading

from flask import Flask

from coordination.runtime import Runtime
from tests.support.agencies import Agencies
from tests.support.cases import add_referral, open_case, outbox_events, set_referral_status

REFERENCE = re.compile(r"^DSC-\d{4}-\d{6}$")


def test_open_case_answers_201_with_reference_etag_and_derived_minor(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    response = center.post(
        "/v1/cases", json={"harm_types": ["illegal_filming"], "victim": {"age_band": "14_17"}}
    )
    assert response.status_code == 201
    case = response.json
    assert case is not None
    assert REFERENCE.match(case["reference"])
    assert case["status"] == "open"
    assert case["owner_org"] == center.org
    assert case["victim"] == {"age_band": "14_17", "is_minor": True, "identity": "none"}
    assert case["closed_at"] is None
    assert response.headers["ETag"] == f'"{case["version"]}"'
    assert response.headers["Location"] == f"/v1/cases/{case['id']}"


def test_open_case_writes_case_opened_event_without_personal_data(
    agencies: Agencies, rt: Runtime
) -> None:
    center = agencies.new("support_center")
    case = open_case(center, age_band="18_19")
    events = outbox_events(rt, case["id"])
    assert [name for name, _ in events] == ["case.opened"]
    data = events[0][1]
    assert data["case_id"] == case["id"]
    assert data["owner_org"] == center.org
    assert data["is_minor"] is False
    assert set(data) == {
        "case_id", "owner_org", "status", "age_band", "is_minor", "harm_types",
        "origin_referral_id",
    }  # fmt: skip


def test_case_references_count_up_in_one_year(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    first = open_case(center)["reference"]
    second = open_case(center)["reference"]
    assert first[:9] == second[:9]
    assert int(second[9:]) > int(first[9:])


def test_open_case_refuses_unknown_and_server_owned_fields(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    for extra in ({"id": "x"}, {"status": "closed"}, {"version": 7}, {"owner_org": "other"},
                  {"opened_at": "2026-01-01T00:00:00Z"}, {"colour": "red"}):  # fmt: skip
        body = {"harm_types": ["stalking"], **extra}
        response = center.post("/v1/cases", json=body)
        assert response.status_code == 422, extra
        problem = response.json
        assert problem is not None
        assert next(iter(extra)) in problem["errors"]
    assert center.get("/v1/cases?limit=200").json["items"] == []  # type: ignore[index]


def test_open_case_refuses_unknown_harm_type_and_age_band(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    response = center.post("/v1/cases", json={"harm_types": ["gossip"]})
    assert response.status_code == 422
    assert "harm_types.0" in response.json["errors"]  # type: ignore[index]
    response = center.post(
        "/v1/cases", json={"harm_types": ["other"], "victim": {"age_band": "teen"}}
    )
    assert response.status_code == 422
    assert "victim.age_band" in response.json["errors"]  # type: ignore[index]
    assert center.post("/v1/cases", json={"harm_types": []}).status_code == 422


def test_open_case_needs_cases_write_scope(agencies: Agencies) -> None:
    police = agencies.new("police")
    response = police.post("/v1/cases", json={"harm_types": ["other"]})
    assert response.status_code == 403
    reader = agencies.new("support_center", scopes="cases.read")
    assert reader.post("/v1/cases", json={"harm_types": ["other"]}).status_code == 403


def test_read_case_by_owner_and_404_for_any_other_org(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    assert center.get(f"/v1/cases/{case['id']}").json == case
    for kind in ("support_center", "police", "standards_commission", "legal_aid", "counseling"):
        other = agencies.new(kind)
        response = other.get(f"/v1/cases/{case['id']}")
        assert response.status_code == 404, kind
        assert case["reference"] not in response.get_data(as_text=True)
        assert other.get("/v1/cases").json["items"] == []  # type: ignore[index]
    assert center.get("/v1/cases/does-not-exist").status_code == 404


def test_referred_org_sees_case_until_referral_is_rejected(agencies: Agencies, rt: Runtime) -> None:
    center, police = agencies.new("support_center"), agencies.new("police")
    case = open_case(center)
    referral_id = add_referral(rt, case["id"], center.org, police.org)
    assert police.get(f"/v1/cases/{case['id']}").status_code == 200
    assert [c["id"] for c in police.get("/v1/cases").json["items"]] == [case["id"]]  # type: ignore[index]
    assert (
        police.patch(
            f"/v1/cases/{case['id']}", json={"status": "closed"}, headers={"If-Match": '"1"'}
        ).status_code
        == 403
    )  # no cases.write: a receiver never changes the case
    set_referral_status(rt, referral_id, "rejected")
    assert police.get(f"/v1/cases/{case['id']}").status_code == 404
    assert police.get("/v1/cases").json["items"] == []  # type: ignore[index]


def test_update_case_needs_if_match(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    response = center.patch(f"/v1/cases/{case['id']}", json={"status": "active"})
    assert response.status_code == 428
    assert center.get(f"/v1/cases/{case['id']}").json["status"] == "open"  # type: ignore[index]


def test_update_case_with_stale_if_match_answers_412_and_changes_nothing(
    agencies: Agencies, rt: Runtime
) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    path = f"/v1/cases/{case['id']}"
    first = center.patch(path, json={"status": "active"}, headers={"If-Match": '"1"'})
    assert first.status_code == 200
    assert first.headers["ETag"] == '"2"'
    stale = center.patch(path, json={"status": "closed"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    after = center.get(path).json
    assert after is not None
    assert (after["status"], after["version"]) == ("active", 2)
    assert [name for name, _ in outbox_events(rt, case["id"])] == ["case.opened", "case.updated"]


def test_closing_a_case_records_updated_and_closed_events(agencies: Agencies, rt: Runtime) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    response = center.patch(
        f"/v1/cases/{case['id']}",
        json={"status": "closed", "harm_types": ["sextortion", "grooming"]},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200
    closed = response.json
    assert closed is not None
    assert closed["status"] == "closed"
    assert closed["closed_at"] is not None
    assert closed["harm_types"] == ["grooming", "sextortion"]
    events = outbox_events(rt, case["id"])
    assert [name for name, _ in events] == ["case.opened", "case.updated", "case.closed"]
    assert sorted(events[1][1]["changed"]) == ["harm_types", "status"]


def test_update_case_refuses_status_open_and_server_owned_fields(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    path = f"/v1/cases/{case['id']}"
    for body in ({"status": "open"}, {"version": 9}, {"reference": "DSC-1"}, {"id": "x"}):
        assert center.patch(path, json=body, headers={"If-Match": '"1"'}).status_code == 422
    assert center.get(path).json["version"] == 1  # type: ignore[index]


def test_update_case_refuses_a_move_from_closed_to_monitoring(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    path = f"/v1/cases/{case['id']}"
    center.patch(path, json={"status": "closed"}, headers={"If-Match": '"1"'})
    response = center.patch(path, json={"status": "monitoring"}, headers={"If-Match": '"2"'})
    assert response.status_code == 409
    assert center.get(path).json["status"] == "closed"  # type: ignore[index]


def test_update_case_by_another_center_answers_404(agencies: Agencies) -> None:
    center, other = agencies.new("support_center"), agencies.new("support_center")
    case = open_case(center)
    response = other.patch(
        f"/v1/cases/{case['id']}", json={"status": "closed"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 404
    assert center.get(f"/v1/cases/{case['id']}").json["status"] == "open"  # type: ignore[index]


def test_list_cases_filters_by_status_and_harm_type(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    a = open_case(center, harm_types=["sextortion"])
    b = open_case(center, harm_types=["stalking", "other"])
    center.patch(f"/v1/cases/{b['id']}", json={"status": "active"}, headers={"If-Match": '"1"'})

    def ids(query: str) -> list[str]:
        response = center.get(f"/v1/cases{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return [c["id"] for c in response.json["items"]]  # type: ignore[index]

    assert ids("") == [b["id"], a["id"]]
    assert ids("?status=active") == [b["id"]]
    assert ids("?harm_type=sextortion") == [a["id"]]
    assert ids("?harm_type=other&status=open") == []
    assert center.get("/v1/cases?status=lost").status_code == 422
    assert center.get("/v1/cases?harm_type=gossip").status_code == 422
    assert center.get("/v1/cases?colour=red").status_code == 422


def test_concurrent_openings_get_distinct_consecutive_references(
    agencies: Agencies, app: Flask
) -> None:
    center = agencies.new("support_center")
    results: list[int] = []

    def open_one() -> None:
        http = app.test_client()
        response = http.post(
            "/v1/cases",
            json={"harm_types": ["other"]},
            headers={"Authorization": f"Bearer {center.token}"},
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [201] * 8
    references = [c["reference"] for c in center.get("/v1/cases").json["items"]]  # type: ignore[index]
    numbers = sorted(int(r.rsplit("-", 1)[1]) for r in references)
    assert len(set(references)) == 8
    assert numbers == list(range(numbers[0], numbers[0] + 8))
