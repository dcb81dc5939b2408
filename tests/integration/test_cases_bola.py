"""Object-level authorisation: every case, victim and consent operation, by every org that may
not see the object, answers 404 (or 403 when its token lacks the scope) with no data."""

from typing import Any

import pytest

from coordination.runtime import Runtime
from tests.support.agencies import Agencies
from tests.support.cases import add_referral, open_case

KINDS = ("support_center", "police", "standards_commission", "legal_aid", "counseling", "platform")

OPERATIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/cases/{case}", None),
    ("PATCH", "/v1/cases/{case}", {"status": "closed"}),
    ("GET", "/v1/cases/{case}/victim", None),
    ("PUT", "/v1/cases/{case}/victim", {"name": "Intruder"}),
    ("DELETE", "/v1/cases/{case}/victim", None),
    ("GET", "/v1/cases/{case}/consents", None),
    ("POST", "/v1/cases/{case}/consents", {"purpose": "share_with_police", "granted_by": "victim"}),
    ("GET", "/v1/consents/{consent}", None),
    ("POST", "/v1/consents/{consent}/revoke", None),
]


@pytest.fixture
def story(agencies: Agencies, rt: Runtime) -> dict[str, Any]:
    center = agencies.new("support_center")
    case = open_case(center, age_band="30s")
    assert (
        center.put(f"/v1/cases/{case['id']}/victim", json={"name": "Secret Name"}).status_code
        == 200
    )
    case = center.get(f"/v1/cases/{case['id']}").json  # the identity moved its version on
    consent = center.post(
        f"/v1/cases/{case['id']}/consents",
        json={"purpose": "share_with_police", "granted_by": "victim"},
    ).json
    assert consent is not None
    return {"center": center, "case": case, "consent": consent}


@pytest.mark.parametrize("kind", KINDS)
def test_unrelated_org_gets_404_on_every_operation(
    agencies: Agencies, story: dict[str, Any], kind: str
) -> None:
    stranger = agencies.new(kind)
    case, consent = story["case"], story["consent"]
    for method, template, body in OPERATIONS:
        path = template.format(case=case["id"], consent=consent["id"])
        response = stranger.request(method, path, json=body, headers={"If-Match": '"1"'})
        text = response.get_data(as_text=True)
        if response.status_code == 403:
            assert "insufficient_scope" in response.headers.get("WWW-Authenticate", ""), path
        else:
            assert response.status_code == 404, (kind, method, path, response.status_code)
        for secret in (case["reference"], "Secret Name", consent["id"]):
            assert secret not in text
    listed = stranger.get("/v1/cases?limit=200")
    if "cases.read" in stranger.scope.split():  # a platform holds no cases.read: 403 above
        assert listed.status_code == 200, listed.get_data(as_text=True)
        assert listed.json["items"] == []  # type: ignore[index]
    # ...and the owner's data is untouched.
    center = story["center"]
    assert center.get(f"/v1/cases/{case['id']}").json["version"] == case["version"]  # type: ignore[index]
    assert center.get(f"/v1/cases/{case['id']}/victim").json["name"] == "Secret Name"  # type: ignore[index]
    assert center.get(f"/v1/consents/{consent['id']}").json["live"] is True  # type: ignore[index]


@pytest.mark.parametrize("status", ["draft", "rejected", "cancelled"])
def test_receiver_of_a_withdrawn_referral_gets_404(
    agencies: Agencies, rt: Runtime, story: dict[str, Any], status: str
) -> None:
    police = agencies.new("police")
    case = story["case"]
    add_referral(
        rt, case["id"], story["center"].org, police.org, status=status, share_victim_identity=True
    )
    for path in (f"/v1/cases/{case['id']}", f"/v1/cases/{case['id']}/victim"):
        assert police.get(path).status_code == 404
    assert police.get(f"/v1/cases/{case['id']}/consents").status_code == 404
    assert police.get("/v1/cases").json["items"] == []  # type: ignore[index]
