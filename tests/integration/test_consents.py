"""Consent over HTTP: who may grant it, and revocation as a new fact that cuts access at once."""

from typing import Any

from coordination.runtime import Runtime
from tests.support.agencies import Agencies, Agency
from tests.support.cases import add_referral, open_case, outbox_events


def grant(center: Agency, case_id: str, **body: Any) -> Any:
    payload = {"purpose": "share_with_police", "granted_by": "victim", **body}
    return center.post(f"/v1/cases/{case_id}/consents", json=payload)


def test_grant_consent_records_who_and_when_and_emits_event(
    agencies: Agencies, rt: Runtime
) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    response = grant(center, case["id"])
    assert response.status_code == 201
    consent = response.json
    assert consent is not None
    assert consent["granted_by"] == "victim"
    assert consent["granted_at"].endswith("Z")
    assert consent["revoked_at"] is None
    assert consent["live"] is True
    assert response.headers["Location"] == f"/v1/consents/{consent['id']}"
    assert center.get(f"/v1/consents/{consent['id']}").json == consent
    events = outbox_events(rt, consent["id"])
    assert [name for name, _ in events] == ["consent.granted"]
    assert events[0][1]["purpose"] == "share_with_police"


def test_minor_case_needs_guardian_consent_or_legal_basis(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = open_case(center, age_band="14_17")
    refused = grant(center, case["id"], granted_by="victim")
    assert refused.status_code == 422
    assert "granted_by" in refused.json["errors"]  # type: ignore[index]
    assert grant(center, case["id"], granted_by="guardian").status_code == 201
    with_basis = grant(center, case["id"], legal_basis="mandatory_report_minor")
    assert with_basis.status_code == 201
    assert with_basis.json["legal_basis"] == "mandatory_report_minor"  # type: ignore[index]
    listed = center.get(f"/v1/cases/{case['id']}/consents").json
    assert listed is not None
    assert len(listed["items"]) == 2
    assert listed["next_cursor"] is None


def test_grant_consent_refuses_bad_input(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    assert grant(center, case["id"], purpose="share_with_press").status_code == 422
    assert grant(center, case["id"], granted_by="uncle").status_code == 422
    assert grant(center, case["id"], revoked_at="2026-01-01T00:00:00Z").status_code == 422
    assert grant(center, case["id"], legal_basis="Because!").status_code == 422
    assert center.get(f"/v1/cases/{case['id']}/consents").json["items"] == []  # type: ignore[index]


def test_consents_are_404_for_other_orgs(agencies: Agencies, rt: Runtime) -> None:
    center, police, stranger = (
        agencies.new("support_center"),
        agencies.new("police"),
        agencies.new("support_center"),
    )
    case = open_case(center)
    consent = grant(center, case["id"]).json
    assert consent is not None
    add_referral(rt, case["id"], center.org, police.org)
    for other in (police, stranger):
        assert other.get(f"/v1/consents/{consent['id']}").status_code == 404
        assert other.post(
            f"/v1/consents/{consent['id']}/revoke", headers={"If-Match": '"1"'}
        ).status_code in (403, 404)
    assert stranger.get(f"/v1/cases/{case['id']}/consents").status_code == 404
    assert (
        stranger.post(
            f"/v1/cases/{case['id']}/consents",
            json={"purpose": "share_with_police", "granted_by": "victim"},
        ).status_code
        == 404
    )
    # The police see the case through the referral, but consents are the center's records.
    assert police.get(f"/v1/cases/{case['id']}/consents").json["items"] == []  # type: ignore[index]


def test_revoke_needs_if_match_and_refuses_stale(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    consent = grant(center, case["id"]).json
    assert consent is not None
    path = f"/v1/consents/{consent['id']}/revoke"
    assert center.post(path).status_code == 428
    assert center.post(path, headers={"If-Match": '"7"'}).status_code == 412
    assert center.get(f"/v1/consents/{consent['id']}").json["live"] is True  # type: ignore[index]


def test_revocation_is_a_new_fact_and_cannot_repeat(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    consent = grant(center, case["id"]).json
    assert consent is not None
    path = f"/v1/consents/{consent['id']}/revoke"
    response = center.post(path, json={"revoked_by": "victim"}, headers={"If-Match": '"1"'})
    assert response.status_code == 200
    revoked = response.json
    assert revoked is not None
    assert revoked["live"] is False
    assert revoked["revoked_by"] == "victim"
    assert revoked["granted_at"] == consent["granted_at"]
    assert response.headers["ETag"] == '"2"'
    again = center.post(path, headers={"If-Match": '"2"'})
    assert again.status_code == 409


def test_revoking_consent_cuts_police_identity_access_on_next_request(
    agencies: Agencies, rt: Runtime
) -> None:
    center, police, counsel = (
        agencies.new("support_center"),
        agencies.new("police"),
        agencies.new("counseling"),
    )
    case = open_case(center)
    victim_path = f"/v1/cases/{case['id']}/victim"
    assert center.put(victim_path, json={"name": "Lee Sora"}).status_code == 200
    consent = grant(center, case["id"]).json
    assert consent is not None
    grant(center, case["id"], purpose="share_with_counseling")
    add_referral(rt, case["id"], center.org, police.org, share_victim_identity=True)
    add_referral(
        rt, case["id"], center.org, counsel.org, referral_type="counseling",
        share_victim_identity=True,
    )  # fmt: skip
    assert police.get(victim_path).status_code == 200
    assert counsel.get(victim_path).status_code == 200

    revoked = center.post(
        f"/v1/consents/{consent['id']}/revoke", headers={"If-Match": f'"{consent["version"]}"'}
    )
    assert revoked.status_code == 200

    cut = police.get(victim_path)
    assert cut.status_code == 404
    assert "Lee Sora" not in cut.get_data(as_text=True)
    assert police.get(f"/v1/cases/{case['id']}").status_code == 200  # the case itself stays
    assert counsel.get(victim_path).status_code == 200  # another purpose is untouched
    events = outbox_events(rt, consent["id"])
    assert [name for name, _ in events] == ["consent.granted", "consent.revoked"]
    data = events[1][1]
    assert data["purpose"] == "share_with_police"
    assert data["affected_orgs"] == [police.org]
    assert "Lee Sora" not in str(data)


def test_revocation_spares_access_held_on_a_legal_basis(agencies: Agencies, rt: Runtime) -> None:
    center, police = agencies.new("support_center"), agencies.new("police")
    case = open_case(center)
    victim_path = f"/v1/cases/{case['id']}/victim"
    center.put(victim_path, json={"name": "Park"})
    consent = grant(center, case["id"]).json
    assert consent is not None
    add_referral(
        rt, case["id"], center.org, police.org, share_victim_identity=True,
        legal_basis="mandatory_report_minor",
    )  # fmt: skip
    center.post(f"/v1/consents/{consent['id']}/revoke", headers={"If-Match": '"1"'})
    assert police.get(victim_path).status_code == 200
    assert outbox_events(rt, consent["id"])[-1][1]["affected_orgs"] == []


def test_revocation_cuts_access_granted_through_the_referral_api(
    agencies: Agencies, rt: Runtime
) -> None:
    center, police = agencies.new("support_center"), agencies.new("police")
    case = open_case(center)
    victim_path = f"/v1/cases/{case['id']}/victim"
    assert center.put(victim_path, json={"name": "Choi Yuna"}).status_code == 200
    consent = grant(center, case["id"]).json
    assert consent is not None
    referral = center.post(
        "/v1/referrals",
        json={
            "case_id": case["id"],
            "type": "investigation",
            "to_org": police.org,
            "share_victim_identity": True,
        },
    )
    assert referral.status_code == 201, referral.get_data(as_text=True)
    assert police.get(victim_path).json["name"] == "Choi Yuna"  # type: ignore[index]

    revoked = center.post(f"/v1/consents/{consent['id']}/revoke", headers={"If-Match": '"1"'})
    assert revoked.status_code == 200

    assert police.get(victim_path).status_code == 404
    assert police.get(f"/v1/cases/{case['id']}").status_code == 200
    assert outbox_events(rt, consent["id"])[-1][1]["affected_orgs"] == [police.org]
