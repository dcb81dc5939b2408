"""Victim identity: encrypted at rest with the case's key, readable by whom the policy allows,
erased for good by destroying the key."""

from typing import Any

import pytest
from sqlalchemy import select

from coordination.runtime import Runtime
from services.crypto import KeyUnavailable, WrappedKey, master_key_ring, open_sealed
from services.victims.handlers import PURPOSE
from services.victims.models import CaseKey, VictimIdentity
from tests.support.agencies import Agencies, Agency
from tests.support.cases import add_referral, open_case, outbox_events

IDENTITY = {
    "name": "Kim Minji",
    "phone": "+82-10-5555-0101",
    "email": "minji@example.org",
    "guardian": {
        "name": "Kim Jiho",
        "relationship": "mother",
        "phone": "+82-10-5555-0102",
        "email": None,
    },
}


def put_identity(center: Agency, case_id: str, body: dict[str, Any] | None = None) -> Any:
    response = center.put(f"/v1/cases/{case_id}/victim", json=body or IDENTITY)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_recorded_identity_reads_back_for_the_owner(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = open_case(center, age_band="14_17")
    put = put_identity(center, case["id"])
    assert put.headers["ETag"] == '"1"'
    response = center.get(f"/v1/cases/{case['id']}/victim")
    assert response.status_code == 200
    body = response.json
    assert body is not None
    assert {k: body[k] for k in IDENTITY} == IDENTITY
    assert body["version"] == 1
    assert response.headers["Cache-Control"] == "no-store"
    assert center.get(f"/v1/cases/{case['id']}").json["victim"]["identity"] == "recorded"  # type: ignore[index]


def test_identity_row_holds_no_plaintext(agencies: Agencies, rt: Runtime) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    put_identity(center, case["id"])
    with rt.session_factory() as session:
        stored = session.get(VictimIdentity, case["id"])
        key_row = session.get(CaseKey, case["id"])
        assert stored is not None
        assert key_row is not None
        assert key_row.wrapped_key is not None
        for secret in ("Kim", "Minji", "5555", "example.org", "mother"):
            assert secret.encode() not in stored.ciphertext
            assert secret.encode() not in key_row.wrapped_key
    for _, data in outbox_events(rt, case["id"]):
        assert "Minji" not in str(data)


def test_replacing_identity_bumps_its_version_and_honours_if_match(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    path = f"/v1/cases/{case['id']}/victim"
    put_identity(center, case["id"], {"name": "A"})
    second = center.put(path, json={"name": "B"}, headers={"If-Match": '"1"'})
    assert second.status_code == 200
    assert second.headers["ETag"] == '"2"'
    stale = center.put(path, json={"name": "C"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert center.get(path).json["name"] == "B"  # type: ignore[index]


def test_identity_refuses_unknown_fields_and_bad_email(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    path = f"/v1/cases/{case['id']}/victim"
    assert center.put(path, json={"name": "A", "ssn": "1"}).status_code == 422
    assert center.put(path, json={"name": "A", "email": "nope"}).status_code == 422
    response = center.put(path, json={"phone": "+82"})
    assert response.status_code == 422
    assert "name" in response.json["errors"]  # type: ignore[index]
    assert center.get(path).status_code == 404


def test_identity_is_404_for_other_orgs_and_needs_pii_scopes(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    put_identity(center, case["id"])
    path = f"/v1/cases/{case['id']}/victim"
    for kind in ("support_center", "police", "legal_aid"):
        other = agencies.new(kind)
        response = other.get(path)
        assert response.status_code == 404
        assert "Minji" not in response.get_data(as_text=True)
    no_pii = agencies.client_of(center.org, "support_center", scopes="cases.read cases.write")
    assert no_pii.get(path).status_code == 403
    assert no_pii.put(path, json={"name": "X"}).status_code == 403
    assert no_pii.delete(path).status_code == 403


def test_referred_police_reads_identity_only_with_consent(agencies: Agencies, rt: Runtime) -> None:
    center, police = agencies.new("support_center"), agencies.new("police")
    case = open_case(center)
    put_identity(center, case["id"])
    path = f"/v1/cases/{case['id']}/victim"
    add_referral(rt, case["id"], center.org, police.org, share_victim_identity=True)
    assert police.get(f"/v1/cases/{case['id']}").status_code == 200
    assert police.get(path).status_code == 404  # no consent yet
    granted = center.post(
        f"/v1/cases/{case['id']}/consents",
        json={"purpose": "share_with_police", "granted_by": "victim"},
    )
    assert granted.status_code == 201
    response = police.get(path)
    assert response.status_code == 200
    assert response.json["name"] == "Kim Minji"  # type: ignore[index]
    assert police.put(path, json={"name": "X"}).status_code == 403  # police hold no pii.write


def test_erasure_destroys_the_key_and_keeps_the_case(agencies: Agencies, rt: Runtime) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    put_identity(center, case["id"])
    path = f"/v1/cases/{case['id']}/victim"

    response = center.delete(path)
    assert response.status_code == 204

    gone = center.get(path)
    assert gone.status_code == 410
    assert gone.json["type"] == "/problems/gone"  # type: ignore[index]
    after = center.get(f"/v1/cases/{case['id']}")
    assert after.status_code == 200
    assert after.json["victim"]["identity"] == "erased"  # type: ignore[index]
    assert center.put(path, json={"name": "again"}).status_code == 409
    assert center.delete(path).status_code == 410

    with rt.session_factory() as session:
        key_row = session.get(CaseKey, case["id"])
        assert key_row is not None
        assert key_row.wrapped_key is None
        assert key_row.destroyed_at is not None
        assert session.get(VictimIdentity, case["id"]) is None
        remaining = session.scalars(
            select(CaseKey.wrapped_key).where(CaseKey.case_id == case["id"])
        )
        assert list(remaining) == [None]
    assert [name for name, _ in outbox_events(rt, case["id"])][-1] == "case.updated"


def test_erased_ciphertext_cannot_be_opened_with_any_remaining_key(
    agencies: Agencies, rt: Runtime
) -> None:
    center = agencies.new("support_center")
    erased, other = open_case(center), open_case(center)
    put_identity(center, erased["id"])
    put_identity(center, other["id"])
    with rt.session_factory() as session:
        backup = session.get(VictimIdentity, erased["id"]).ciphertext  # type: ignore[union-attr]
        backup_key = session.get(CaseKey, other["id"])
        assert backup_key is not None
        other_wrapped = WrappedKey(backup_key.master_key_id or "", backup_key.wrapped_key or b"")
    assert center.delete(f"/v1/cases/{erased['id']}/victim").status_code == 204

    ring = master_key_ring(rt.settings.data_key_file)
    with rt.session_factory() as session:
        live_keys = [
            ring.unwrap(WrappedKey(row.master_key_id, row.wrapped_key), row.case_id)
            for row in session.scalars(select(CaseKey).where(CaseKey.wrapped_key.is_not(None)))
            if row.master_key_id is not None and row.wrapped_key is not None
        ]
    assert live_keys
    for data_key in live_keys:
        with pytest.raises(KeyUnavailable):
            open_sealed(data_key, backup, erased["id"], PURPOSE)
    # Nor does another case's key open it under another case's id.
    with pytest.raises(KeyUnavailable):
        ring.unwrap(other_wrapped, erased["id"])
