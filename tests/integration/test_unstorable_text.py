"""Text no database column can hold (a NUL character, half of a UTF-16 surrogate pair) is
refused at the door, on SQLite and PostgreSQL alike: 422 naming the field in a body or query,
404 in a path. Before, PostgreSQL refused it mid-write and the client got a 500 (test_api_fuzz
found it)."""

import pytest

from tests.support.agencies import Agencies


@pytest.mark.parametrize("escape", ["\\u0000", "\\uD928", "\\udc57x"])
def test_a_body_with_unstorable_text_is_refused_naming_the_field(
    agencies: Agencies, escape: str
) -> None:
    center = agencies.new("support_center")
    body = '{"url": "https://example.org/a' + escape + '", "event_types": ["referral.requested"]}'
    response = center.post(
        "/v1/subscriptions", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json["errors"] == {  # type: ignore[index]
        "url": ["holds a NUL character or an unpaired UTF-16 surrogate"]
    }
    assert center.get("/v1/subscriptions").json["items"] == []  # type: ignore[index]


def test_a_key_with_unstorable_text_is_refused(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    body = '{"harm_types": ["sextortion"], "victim": {"age\\u0000": "20s"}}'
    response = center.post("/v1/cases", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["victim"]  # type: ignore[index]
    assert center.get("/v1/cases").json["items"] == []  # type: ignore[index]


def test_a_paired_surrogate_is_ordinary_text(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = center.post("/v1/cases", json={"harm_types": ["sextortion"]}).json
    body = (
        '{"kind": "video", "sha256": "%s", "involves_minor": false,'
        ' "description": "\\ud83d\\ude00 sticker"}' % ("ab" * 32)
    )
    response = center.post(
        f"/v1/cases/{case['id']}/content",  # type: ignore[index]
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["description"] == "\U0001f600 sticker"  # type: ignore[index]


def test_a_query_with_unstorable_text_is_refused_naming_the_parameter(agencies: Agencies) -> None:
    response = agencies.new("support_center").get("/v1/cases?status=open%00")
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["status"]  # type: ignore[index]


def test_a_path_with_unstorable_text_names_nothing(agencies: Agencies) -> None:
    response = agencies.new("support_center").get("/v1/cases/abc%00def")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
