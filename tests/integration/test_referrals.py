"""Referrals over HTTP: creation rules (receiver kind, consent), visibility, the state machine
(every pair, by each side), updates, If-Match, and the events they write."""

from datetime import datetime, timedelta
from typing import Any

import pytest

from coordination.runtime import Runtime
from services.referrals.models import RECEIVER, SENDER, STATUSES, TRANSITIONS
from tests.support.agencies import Agencies, Agency
from tests.support.casework import events, grant, move, open_case, refer, register, revoke, update

# How to bring a fresh referral (created `requested`, or `draft`) to each status.
PATH_TO: dict[str, list[tuple[str, str]]] = {
    "draft": [],
    "requested": [],
    "accepted": [(RECEIVER, "accepted")],
    "rejected": [(RECEIVER, "rejected")],
    "cancelled": [(SENDER, "cancelled")],
    "in_progress": [(RECEIVER, "accepted"), (RECEIVER, "in_progress")],
    "on_hold": [(RECEIVER, "accepted"), (RECEIVER, "on_hold")],
    "completed": [(RECEIVER, "accepted"), (RECEIVER, "in_progress"), (RECEIVER, "completed")],
    "failed": [(RECEIVER, "accepted"), (RECEIVER, "in_progress"), (RECEIVER, "failed")],
}
REASON = {"rejected": "outside our remit", "failed": "the site did not respond"}


class Parties:
    def __init__(self, agencies: Agencies, rt: Runtime) -> None:
        self.rt = rt
        self.center = agencies.new("support_center")
        self.kcsc = agencies.new("standards_commission")
        self.case_id = open_case(self.center)
        grant(self.center, self.case_id, "share_with_standards_commission")
        self.item = register(self.center, self.case_id, 1)

    def side(self, side: str) -> Agency:
        return self.center if side == SENDER else self.kcsc

    def takedown(self, status: str = "requested", **extra: Any) -> dict[str, Any]:
        return refer(
            self.center,
            case_id=self.case_id,
            type="takedown",
            to_org=self.kcsc.org,
            content_ids=[self.item["id"]],
            status="draft" if status == "draft" else "requested",
            **extra,
        )

    def at(self, status: str) -> dict[str, Any]:
        referral = self.takedown(status)
        for side, step in PATH_TO[status]:
            referral = move(self.side(side), referral, step, **_reason(step))
        assert referral["status"] == status
        return referral


@pytest.fixture
def parties(agencies: Agencies, rt: Runtime) -> Parties:
    return Parties(agencies, rt)


def _reason(status: str) -> dict[str, str]:
    return {"reason": REASON[status]} if status in REASON else {}


def snapshot(agency: Agency, referral_id: str) -> tuple[Any, Any]:
    got = agency.get(f"/v1/referrals/{referral_id}")
    updates = agency.get(f"/v1/referrals/{referral_id}/updates")
    return got.json, updates.json


# ---- the state machine -----------------------------------------------------------------------


@pytest.mark.parametrize("source", STATUSES)
def test_every_move_from_status_is_allowed_only_for_its_side(parties: Parties, source: str) -> None:
    referral = parties.at(source)
    for target in STATUSES:
        for side in (SENDER, RECEIVER):
            if TRANSITIONS.get((source, target)) == side:
                fresh = parties.at(source)
                moved = move(parties.side(side), fresh, target, **_reason(target))
                assert moved["status"] == target
                assert moved["version"] > fresh["version"]
                continue
            before = snapshot(parties.center, referral["id"])
            outbox_before = len(events(parties.rt, referral["id"]))
            response = parties.side(side).post(
                f"/v1/referrals/{referral['id']}/updates",
                json={"status": target, **_reason(target)},
                headers={"If-Match": f'"{before[0]["version"]}"'},
            )
            # A draft is the sender's alone: to the receiver it does not exist yet.
            expected = 404 if (source, side) == ("draft", RECEIVER) else 409
            assert response.status_code == expected, (source, target, side, response.json)
            assert response.mimetype == "application/problem+json"
            assert snapshot(parties.center, referral["id"]) == before
            assert len(events(parties.rt, referral["id"])) == outbox_before


@pytest.mark.parametrize(
    ("source", "target"), [("requested", "rejected"), ("in_progress", "failed")]
)
def test_move_without_reason_is_refused_and_changes_nothing(
    parties: Parties, source: str, target: str
) -> None:
    referral = parties.at(source)
    before = snapshot(parties.center, referral["id"])
    response = update(parties.kcsc, referral, status=target)
    assert response.status_code == 422
    assert "reason" in response.json["errors"]
    assert snapshot(parties.center, referral["id"]) == before


def test_reason_is_kept_on_the_update_and_never_in_events(parties: Parties) -> None:
    referral = parties.at("requested")
    response = update(parties.kcsc, referral, status="rejected", reason="outside our remit")
    assert response.status_code == 201
    assert response.json["reason"] == "outside our remit"
    assert "remit" not in repr(events(parties.rt, referral["id"]))


def test_completed_referral_is_never_reopened(parties: Parties) -> None:
    referral = parties.at("completed")
    for side, status in [(RECEIVER, "in_progress"), (RECEIVER, "accepted"), (SENDER, "requested")]:
        assert update(parties.side(side), referral, status=status).status_code == 409
    again = parties.takedown(based_on=referral["id"])
    assert again["based_on"] == referral["id"]
    assert again["status"] == "requested"


def test_stale_if_match_is_412_and_missing_is_428(parties: Parties) -> None:
    referral = parties.at("requested")
    path = f"/v1/referrals/{referral['id']}/updates"
    move(parties.kcsc, referral, "accepted")
    before = snapshot(parties.center, referral["id"])
    stale = parties.kcsc.post(
        path, json={"status": "in_progress"}, headers={"If-Match": f'"{referral["version"]}"'}
    )
    assert stale.status_code == 412
    assert parties.kcsc.post(path, json={"status": "in_progress"}).status_code == 428
    assert snapshot(parties.center, referral["id"]) == before


def test_business_status_is_the_receivers_after_acceptance(parties: Parties) -> None:
    referral = parties.at("requested")
    early = update(parties.kcsc, referral, business_status="deletion_ordered")
    assert early.status_code == 409
    accepted = move(parties.kcsc, referral, "accepted", business_status="deletion_ordered")
    assert accepted["business_status"] == "deletion_ordered"
    by_sender = update(parties.center, referral, business_status="removed")
    assert by_sender.status_code == 409
    assert update(parties.kcsc, referral, business_status="Not A Code").status_code == 422


def test_updates_are_append_only_and_both_sides_see_them(parties: Parties) -> None:
    referral = parties.at("accepted")
    note = update(parties.center, referral, note="the victim asks for a call back")
    assert note.status_code == 201
    seen_by = [
        parties.side(s).get(f"/v1/referrals/{referral['id']}/updates") for s in (SENDER, RECEIVER)
    ]
    assert seen_by[0].json == seen_by[1].json
    items = seen_by[0].json["items"]
    assert [(u["seq"], u["status"]) for u in items] == [(1, "accepted"), (2, None)]
    assert items[1]["note"] == "the victim asks for a call back"
    path = f"/v1/referrals/{referral['id']}/updates/{items[0]['id']}"
    assert parties.center.delete(path).status_code in (404, 405)
    assert parties.center.put(f"/v1/referrals/{referral['id']}/updates", json={}).status_code == 405


def test_update_list_paginates_in_order(parties: Parties) -> None:
    referral = parties.at("in_progress")
    for code in ("deletion_ordered", "blocking_ordered"):
        assert update(parties.kcsc, referral, business_status=code).status_code == 201
    path = f"/v1/referrals/{referral['id']}/updates"
    first = parties.center.get(path + "?limit=3").json
    assert len(first["items"]) == 3
    assert first["next_cursor"]
    rest = parties.center.get(path + f"?limit=3&cursor={first['next_cursor']}").json
    seqs = [u["seq"] for u in first["items"] + rest["items"]]
    assert seqs == [1, 2, 3, 4]
    assert rest["next_cursor"] is None


def test_update_refuses_unknown_and_server_owned_fields(parties: Parties) -> None:
    referral = parties.at("requested")
    for body in ({"status": "accepted", "version": 9}, {"status": "accepted", "author_org": "x"}):
        response = update(parties.kcsc, referral, **body)
        assert response.status_code == 422
    assert snapshot(parties.center, referral["id"])[0]["status"] == "requested"


# ---- creation rules --------------------------------------------------------------------------


def test_takedown_gets_a_24_hour_target_and_marks_its_items(parties: Parties) -> None:
    referral = parties.takedown(note="three images on a social site")
    sent = datetime.fromisoformat(referral["sent_at"])
    assert datetime.fromisoformat(referral["due_at"]) - sent == timedelta(hours=24)
    item = parties.center.get(f"/v1/content/{parties.item['id']}").json
    assert item["status"] == "takedown_requested"
    [requested] = events(parties.rt, referral["id"], "referral.requested")
    assert requested["referral_id"] == referral["id"]
    assert (requested["from_org"], requested["to_org"]) == (parties.center.org, parties.kcsc.org)
    assert requested["referral_type"] == "takedown"
    assert "social site" not in repr(requested)


def test_draft_is_unseen_by_the_receiver_until_sent(parties: Parties) -> None:
    draft = parties.takedown("draft")
    assert draft["status"] == "draft"
    assert draft["due_at"] is None
    assert parties.kcsc.get(f"/v1/referrals/{draft['id']}").status_code == 404
    assert draft["id"] not in [r["id"] for r in parties.kcsc.get("/v1/referrals").json["items"]]
    assert parties.kcsc.get(f"/v1/content/{parties.item['id']}").status_code == 404
    assert events(parties.rt, draft["id"], "referral.requested") == []
    sent = move(parties.center, draft, "requested")
    assert sent["due_at"] is not None
    assert parties.kcsc.get(f"/v1/referrals/{draft['id']}").status_code == 200
    assert len(events(parties.rt, draft["id"], "referral.requested")) == 1


def test_referral_to_the_wrong_kind_of_org_is_refused(agencies: Agencies, parties: Parties) -> None:
    police = agencies.new("police")
    response = parties.center.post(
        "/v1/referrals",
        json={
            "case_id": parties.case_id,
            "type": "takedown",
            "to_org": police.org,
            "content_ids": [parties.item["id"]],
        },
    )
    assert response.status_code == 422
    assert "to_org" in response.json["errors"]
    unknown = parties.center.post(
        "/v1/referrals",
        json={"case_id": parties.case_id, "type": "investigation", "to_org": "no-such-org"},
    )
    assert unknown.status_code == 422


def test_referral_needs_a_live_consent_or_a_legal_basis(agencies: Agencies, rt: Runtime) -> None:
    center, police = agencies.new("support_center"), agencies.new("police")
    case_id = open_case(center)
    body = {"case_id": case_id, "type": "investigation", "to_org": police.org}
    refused = center.post("/v1/referrals", json=body)
    assert refused.status_code == 422
    assert "legal_basis" in refused.json["errors"]
    assert center.get(f"/v1/referrals?case_id={case_id}").json["items"] == []
    lawful = center.post("/v1/referrals", json={**body, "legal_basis": "criminal_procedure_act"})
    assert lawful.status_code == 201
    identity = center.post(
        "/v1/referrals",
        json={**body, "legal_basis": "criminal_procedure_act", "share_victim_identity": True},
    )
    assert identity.status_code == 422
    assert "share_victim_identity" in identity.json["errors"]
    consent = grant(center, case_id, "share_with_police")
    assert (
        center.post("/v1/referrals", json={**body, "share_victim_identity": True}).status_code
        == 201
    )
    revoke(center, consent)
    assert center.post("/v1/referrals", json=body).status_code == 422


def test_minor_case_needs_the_guardians_consent(agencies: Agencies, rt: Runtime) -> None:
    center, police = agencies.new("support_center"), agencies.new("police")
    case_id = open_case(center, age_band="14_17")
    body = {"case_id": case_id, "type": "investigation", "to_org": police.org}
    assert center.post("/v1/referrals", json=body).status_code == 422
    grant(center, case_id, "share_with_police", granted_by="guardian")
    assert center.post("/v1/referrals", json=body).status_code == 201


def test_only_the_owner_refers_its_case(agencies: Agencies, parties: Parties) -> None:
    stranger = agencies.new("support_center")
    body = {
        "case_id": parties.case_id,
        "type": "takedown",
        "to_org": parties.kcsc.org,
        "content_ids": [parties.item["id"]],
    }
    assert stranger.post("/v1/referrals", json=body).status_code == 404
    police = agencies.new("police")
    assert police.post("/v1/referrals", json=body).status_code == 403
    foreign = stranger.post("/v1/referrals", json={**body, "case_id": open_case(stranger)})
    assert foreign.status_code == 422  # the item is not one of the stranger's case


def test_takedown_must_name_content_of_the_case(agencies: Agencies, parties: Parties) -> None:
    other_case = open_case(parties.center)
    other_item = register(parties.center, other_case, 2)
    for content_ids in ([], [other_item["id"]], ["nope"]):
        response = parties.center.post(
            "/v1/referrals",
            json={
                "case_id": parties.case_id,
                "type": "takedown",
                "to_org": parties.kcsc.org,
                "content_ids": content_ids,
            },
        )
        assert response.status_code == 422, content_ids


def test_create_refuses_server_owned_fields(parties: Parties) -> None:
    for extra in (
        {"from_org": parties.kcsc.org},
        {"status": "accepted"},
        {"version": 3},
        {"due_at": "2030-01-01T00:00:00Z"},
    ):
        response = parties.center.post(
            "/v1/referrals",
            json={
                "case_id": parties.case_id,
                "type": "takedown",
                "to_org": parties.kcsc.org,
                "content_ids": [parties.item["id"]],
                **extra,
            },
        )
        assert response.status_code == 422, extra


def test_idempotency_key_replays_the_first_referral(parties: Parties) -> None:
    body = {
        "case_id": parties.case_id,
        "type": "takedown",
        "to_org": parties.kcsc.org,
        "content_ids": [parties.item["id"]],
    }
    headers = {"Idempotency-Key": "refer-once"}
    first = parties.center.post("/v1/referrals", json=body, headers=headers)
    again = parties.center.post("/v1/referrals", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"]
    listed = parties.center.get(f"/v1/referrals?case_id={parties.case_id}").json["items"]
    assert [r["id"] for r in listed] == [first.json["id"]]


# ---- visibility --------------------------------------------------------------------------------


def test_orgs_without_a_referral_get_404_and_see_nothing_listed(
    agencies: Agencies, parties: Parties
) -> None:
    referral = parties.at("accepted")
    for other in (
        agencies.new("standards_commission"),
        agencies.new("support_center"),
        agencies.new("police"),
    ):
        for path in (f"/v1/referrals/{referral['id']}", f"/v1/referrals/{referral['id']}/updates"):
            response = other.get(path)
            assert response.status_code == 404
            assert referral["id"] not in response.get_data(as_text=True)
        assert other.get("/v1/referrals").json["items"] == []
        posted = other.post(
            f"/v1/referrals/{referral['id']}/updates",
            json={"note": "hello"},
            headers={"If-Match": f'"{referral["version"]}"'},
        )
        assert posted.status_code == 404


def test_list_filters_by_direction_status_type_and_case(
    agencies: Agencies, parties: Parties
) -> None:
    police = agencies.new("police")
    grant(parties.center, parties.case_id, "share_with_police")
    takedown = parties.at("accepted")
    investigation = refer(
        parties.center, case_id=parties.case_id, type="investigation", to_org=police.org
    )

    def ids(agency: Agency, query: str) -> set[str]:
        response = agency.get(f"/v1/referrals?{query}")
        assert response.status_code == 200, response.json
        return {r["id"] for r in response.json["items"]}

    assert ids(parties.center, "direction=outbox") == {takedown["id"], investigation["id"]}
    assert ids(parties.center, "direction=inbox") == set()
    assert ids(parties.kcsc, "direction=inbox") == {takedown["id"]}
    assert ids(police, "") == {investigation["id"]}
    assert ids(parties.center, "status=accepted") == {takedown["id"]}
    assert ids(parties.center, "type=investigation") == {investigation["id"]}
    assert ids(parties.center, f"case_id={parties.case_id}") == {
        takedown["id"],
        investigation["id"],
    }
    assert ids(police, f"case_id={parties.case_id}&type=takedown") == set()
    assert parties.center.get("/v1/referrals?direction=sideways").status_code == 422
    assert parties.center.get("/v1/referrals?colour=red").status_code == 422


def test_list_paginates_with_a_cursor(parties: Parties) -> None:
    made = {parties.takedown()["id"] for _ in range(3)}
    first = parties.kcsc.get("/v1/referrals?limit=2").json
    rest = parties.kcsc.get(f"/v1/referrals?limit=2&cursor={first['next_cursor']}").json
    assert {r["id"] for r in first["items"] + rest["items"]} == made
    assert rest["next_cursor"] is None
    assert parties.kcsc.get("/v1/referrals?cursor=forged").status_code == 422


def test_rejected_receiver_still_sees_the_referral_but_not_the_case_content(
    parties: Parties,
) -> None:
    referral = parties.at("rejected")
    assert parties.kcsc.get(f"/v1/referrals/{referral['id']}").json["status"] == "rejected"
    assert parties.kcsc.get(f"/v1/content/{parties.item['id']}").status_code == 404


def test_scopes_are_checked(agencies: Agencies, parties: Parties) -> None:
    reader = agencies.client_of(parties.center.org, "support_center", scopes="referrals.read")
    body = {
        "case_id": parties.case_id,
        "type": "takedown",
        "to_org": parties.kcsc.org,
        "content_ids": [parties.item["id"]],
    }
    assert reader.post("/v1/referrals", json=body).status_code == 403
    assert reader.get("/v1/referrals").status_code == 200
    assert (
        parties.center.get("/v1/referrals", headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )


# ---- effects ---------------------------------------------------------------------------------


def test_takedown_removed_marks_items_removed_with_time_to_removal(parties: Parties) -> None:
    sighting = parties.center.post(
        f"/v1/content/{parties.item['id']}/sightings",
        json={"url": "https://social.example/p/1", "platform": "social.example"},
    )
    assert sighting.status_code == 201
    referral = parties.at("in_progress")
    done = move(parties.kcsc, referral, "completed", business_status="removed")
    assert (done["status"], done["business_status"]) == ("completed", "removed")
    item = parties.center.get(f"/v1/content/{parties.item['id']}").json
    assert item["status"] == "removed"
    assert item["removed_at"]
    [removed] = events(parties.rt, parties.item["id"], "content.removed")
    assert removed["referral_id"] == referral["id"]
    assert removed["seconds_to_removal"] is not None
    assert removed["seconds_to_removal"] >= 0
    sightings = parties.center.get(f"/v1/content/{parties.item['id']}/sightings").json["items"]
    assert [s["state"] for s in sightings] == ["removed"]


def test_status_changed_event_carries_routing_and_codes(parties: Parties) -> None:
    referral = parties.at("requested")
    move(
        parties.kcsc,
        referral,
        "accepted",
        business_status="deletion_ordered",
        note="reviewed by the board",
    )
    [changed] = events(parties.rt, referral["id"], "referral.status_changed")
    assert changed["status"] == "accepted"
    assert changed["previous_status"] == "requested"
    assert changed["business_status"] == "deletion_ordered"
    assert changed["referral_type"] == "takedown"
    assert (changed["from_org"], changed["to_org"]) == (parties.center.org, parties.kcsc.org)
    assert changed["referral_id"] == referral["id"]
    assert changed["case_id"] == parties.case_id
    [added] = events(parties.rt, referral["id"], "referral.update_added")
    assert added["author_org"] == parties.kcsc.org
    assert "board" not in repr(changed) + repr(added)


def test_police_victim_support_accepted_opens_a_case_at_the_center(
    agencies: Agencies, rt: Runtime
) -> None:
    police, center = agencies.new("police"), agencies.new("support_center")
    referral = refer(
        police,
        type="victim_support",
        to_org=center.org,
        harm_types=["sextortion"],
        victim={"age_band": "18_19"},
        note="victim came to the station",
    )
    assert referral["case_id"] is None
    assert referral["status"] == "requested"
    assert center.get(f"/v1/referrals/{referral['id']}").status_code == 200
    accepted = move(center, referral, "accepted")
    case_id = accepted["case_id"]
    assert case_id
    [opened] = [e for e in events(rt, case_id) if e["type"] == "org.coordination.case.opened"]
    assert opened["owner_org"] == center.org
    assert opened["origin_referral_id"] == referral["id"]
    assert opened["harm_types"] == ["sextortion"]
    register(center, case_id, 7)  # the center owns the new case
    assert police.get(f"/v1/cases/{case_id}/content").status_code == 404
    assert police.get(f"/v1/referrals/{referral['id']}").json["case_id"] == case_id


def test_victim_support_comes_from_the_police_with_a_victim_hint(
    agencies: Agencies, rt: Runtime
) -> None:
    police, center = agencies.new("police"), agencies.new("support_center")
    missing = police.post("/v1/referrals", json={"type": "victim_support", "to_org": center.org})
    assert missing.status_code == 422
    assert "harm_types" in missing.json["errors"]
    other_center = agencies.new("support_center")
    from_center = other_center.post(
        "/v1/referrals",
        json={"type": "victim_support", "to_org": center.org, "harm_types": ["other"]},
    )
    assert from_center.status_code == 403
