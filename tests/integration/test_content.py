"""Content items (hashes only, never media) and sightings over HTTP: validation, who sees which
items (the owner all, a receiver only what a live referral shares), and the events written."""

from typing import Any

import pytest

from coordination.runtime import Runtime
from tests.support.agencies import Agencies, Agency
from tests.support.casework import (
    PDQ,
    events,
    grant,
    move,
    open_case,
    refer,
    register,
    sha,
)


class Setting:
    def __init__(self, agencies: Agencies, rt: Runtime) -> None:
        self.rt = rt
        self.center = agencies.new("support_center")
        self.kcsc = agencies.new("standards_commission")
        self.case_id = open_case(self.center)
        grant(self.center, self.case_id, "share_with_standards_commission")

    def takedown(self, *items: dict[str, Any], status: str = "requested") -> dict[str, Any]:
        return refer(
            self.center,
            case_id=self.case_id,
            type="takedown",
            to_org=self.kcsc.org,
            content_ids=[item["id"] for item in items],
            status=status,
        )


@pytest.fixture
def setting(agencies: Agencies, rt: Runtime) -> Setting:
    return Setting(agencies, rt)


def listed(agency: Agency, path: str) -> list[str]:
    response = agency.get(path)
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


# ---- registering -----------------------------------------------------------------------------


def test_register_content_answers_the_item_and_writes_the_event(setting: Setting) -> None:
    response = setting.center.post(
        f"/v1/cases/{setting.case_id}/content",
        json={
            "kind": "image",
            "sha256": sha(1),
            "pdq": PDQ.upper(),
            "pdq_quality": 87,
            "description": "a photo taken in a changing room",
            "involves_minor": True,
        },
    )
    assert response.status_code == 201
    item = response.json
    assert response.headers["Location"] == f"/v1/content/{item['id']}"
    assert response.headers["ETag"] == f'"{item["version"]}"'
    assert (item["status"], item["pdq"], item["case_id"]) == ("online", PDQ, setting.case_id)
    [registered] = events(setting.rt, item["id"])
    assert registered["type"] == "org.coordination.content.registered"
    assert registered["involves_minor"] is True
    assert registered["owner_org"] == setting.center.org
    assert "changing room" not in repr(registered)
    assert sha(1) not in repr(registered)


def test_video_needs_no_pdq(setting: Setting) -> None:
    item = register(setting.center, setting.case_id, 2, kind="video", pdq=None, pdq_quality=None)
    assert item["pdq"] is None


@pytest.mark.parametrize(
    "change",
    [
        {"sha256": "A" * 64},
        {"sha256": "abc"},
        {"pdq": "z" * 64},
        {"pdq": "f" * 63},
        {"pdq_quality": 101},
        {"pdq_quality": -1},
        {"pdq_quality": None},
        {"pdq": None, "pdq_quality": None},  # an image needs its PDQ
        {"kind": "audio"},
        {"involves_minor": "yes"},
        {"status": "removed"},
        {"version": 4},
        {"registered_at": "2026-01-01T00:00:00Z"},
        {"media": "aGVsbG8="},
    ],
)
def test_register_content_refuses_invalid_input_and_stores_nothing(
    setting: Setting, change: dict[str, Any]
) -> None:
    body = {
        "kind": "image",
        "sha256": sha(3),
        "pdq": PDQ,
        "pdq_quality": 80,
        "involves_minor": False,
        **change,
    }
    response = setting.center.post(f"/v1/cases/{setting.case_id}/content", json=body)
    assert response.status_code == 422, (change, response.json)
    assert response.json["errors"]
    assert listed(setting.center, f"/v1/cases/{setting.case_id}/content") == []


def test_no_endpoint_takes_media_bytes(setting: Setting) -> None:
    response = setting.center.post(
        f"/v1/cases/{setting.case_id}/content",
        data=b"\xff\xd8\xff\xe0 not really a jpeg",
        headers={"Content-Type": "image/jpeg"},
    )
    assert response.status_code == 415
    assert listed(setting.center, f"/v1/cases/{setting.case_id}/content") == []


def test_same_sha256_twice_in_a_case_is_a_conflict(setting: Setting) -> None:
    register(setting.center, setting.case_id, 4)
    again = setting.center.post(
        f"/v1/cases/{setting.case_id}/content",
        json={
            "kind": "image",
            "sha256": sha(4),
            "pdq": PDQ,
            "pdq_quality": 80,
            "involves_minor": False,
        },
    )
    assert again.status_code == 409


def test_only_the_owner_registers_content(agencies: Agencies, setting: Setting) -> None:
    item = register(setting.center, setting.case_id, 5)
    setting.takedown(item)
    body = {
        "kind": "image",
        "sha256": sha(6),
        "pdq": PDQ,
        "pdq_quality": 80,
        "involves_minor": False,
    }
    assert setting.kcsc.post(f"/v1/cases/{setting.case_id}/content", json=body).status_code == 403
    stranger = agencies.new("support_center")
    assert stranger.post(f"/v1/cases/{setting.case_id}/content", json=body).status_code == 404
    assert listed(setting.center, f"/v1/cases/{setting.case_id}/content") == [item["id"]]


# ---- visibility ------------------------------------------------------------------------------


def test_receiver_sees_only_the_items_its_referral_shares(setting: Setting) -> None:
    shared = register(setting.center, setting.case_id, 10)
    private = register(setting.center, setting.case_id, 11)
    setting.takedown(shared)
    assert listed(setting.kcsc, f"/v1/cases/{setting.case_id}/content") == [shared["id"]]
    assert setting.kcsc.get(f"/v1/content/{shared['id']}").status_code == 200
    hidden = setting.kcsc.get(f"/v1/content/{private['id']}")
    assert hidden.status_code == 404
    assert private["id"] not in hidden.get_data(as_text=True)
    assert setting.kcsc.get(f"/v1/content/{private['id']}/sightings").status_code == 404
    assert set(listed(setting.center, f"/v1/cases/{setting.case_id}/content")) == {
        shared["id"],
        private["id"],
    }


@pytest.mark.parametrize(
    ("closing_side", "closing"), [("receiver", "rejected"), ("sender", "cancelled")]
)
def test_rejected_or_cancelled_referral_hides_the_content_again(
    setting: Setting, closing_side: str, closing: str
) -> None:
    item = register(setting.center, setting.case_id, 12)
    referral = setting.takedown(item)
    assert setting.kcsc.get(f"/v1/content/{item['id']}").status_code == 200
    agency = setting.kcsc if closing_side == "receiver" else setting.center
    move(agency, referral, closing, **({"reason": "not ours"} if closing == "rejected" else {}))
    assert setting.kcsc.get(f"/v1/content/{item['id']}").status_code == 404
    assert setting.kcsc.get(f"/v1/cases/{setting.case_id}/content").status_code == 404


def test_draft_shares_nothing_yet(setting: Setting) -> None:
    item = register(setting.center, setting.case_id, 13)
    setting.takedown(item, status="draft")
    assert setting.kcsc.get(f"/v1/content/{item['id']}").status_code == 404
    assert setting.kcsc.get(f"/v1/cases/{setting.case_id}/content").status_code == 404


def test_orgs_without_a_referral_see_no_content(agencies: Agencies, setting: Setting) -> None:
    item = register(setting.center, setting.case_id, 14)
    setting.takedown(item)
    for kind in ("support_center", "standards_commission", "police", "platform"):
        other = agencies.new(kind)
        assert other.get(f"/v1/content/{item['id']}").status_code == 404
        assert other.get(f"/v1/content/{item['id']}/sightings").status_code in (403, 404)
        assert other.get(f"/v1/cases/{setting.case_id}/content").status_code in (403, 404)


def test_content_list_paginates(setting: Setting) -> None:
    made = {register(setting.center, setting.case_id, 20 + n)["id"] for n in range(3)}
    first = setting.center.get(f"/v1/cases/{setting.case_id}/content?limit=2").json
    assert len(first["items"]) == 2
    rest = setting.center.get(
        f"/v1/cases/{setting.case_id}/content?limit=2&cursor={first['next_cursor']}"
    ).json
    assert {i["id"] for i in first["items"] + rest["items"]} == made
    assert rest["next_cursor"] is None


# ---- sightings -------------------------------------------------------------------------------


def test_sighting_is_recorded_listed_and_announced_without_its_url(setting: Setting) -> None:
    item = register(setting.center, setting.case_id, 30)
    response = setting.center.post(
        f"/v1/content/{item['id']}/sightings",
        json={
            "url": "https://social.example/u/abc/1",
            "platform": "social.example",
            "seen_at": "2026-01-02T03:04:05Z",
        },
    )
    assert response.status_code == 201
    sighting = response.json
    assert (sighting["state"], sighting["seen_at"]) == ("online", "2026-01-02T03:04:05Z")
    assert listed(setting.center, f"/v1/content/{item['id']}/sightings") == [sighting["id"]]
    [sighted] = events(setting.rt, item["id"], "content.sighted")
    assert sighted["sighting_id"] == sighting["id"]
    assert "social.example" not in repr(sighted)


def test_receiver_with_the_item_records_sightings(setting: Setting) -> None:
    item = register(setting.center, setting.case_id, 31)
    setting.takedown(item)
    response = setting.kcsc.post(
        f"/v1/content/{item['id']}/sightings",
        json={
            "url": "https://mirror.example/x",
            "platform": "mirror.example",
            "state": "removed",
            "seen_at": "2026-01-01T00:00:00Z",
            "removed_at": "2026-01-02T00:00:00Z",
        },
    )
    assert response.status_code == 201
    assert response.json["recorded_by_org"] == setting.kcsc.org
    assert listed(setting.center, f"/v1/content/{item['id']}/sightings") == [response.json["id"]]


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://x.example/1", "platform": "x"},
        {"url": "not a url", "platform": "x"},
        {"url": "https://x.example/1"},
        {"url": "https://x.example/1", "platform": "x", "state": "gone"},
        {"url": "https://x.example/1", "platform": "x", "removed_at": "2026-01-01T00:00:00Z"},
        {"url": "https://x.example/1", "platform": "x", "seen_at": "2999-01-01T00:00:00Z"},
        {"url": "https://x.example/1", "platform": "x", "seen_at": "2026-01-01T00:00:00"},
        {"url": "https://x.example/1", "platform": "x", "recorded_by_org": "me"},
    ],
)
def test_invalid_sighting_is_refused(setting: Setting, body: dict[str, Any]) -> None:
    item = register(setting.center, setting.case_id, 32)
    response = setting.center.post(f"/v1/content/{item['id']}/sightings", json=body)
    assert response.status_code == 422, (body, response.json)
    assert listed(setting.center, f"/v1/content/{item['id']}/sightings") == []


def test_online_sighting_after_removal_marks_the_item_reappeared(setting: Setting) -> None:
    item = register(setting.center, setting.case_id, 33)
    referral = setting.takedown(item)
    for status in ("accepted", "in_progress"):
        referral = move(setting.kcsc, referral, status)
    move(setting.kcsc, referral, "completed", business_status="removed")
    assert setting.center.get(f"/v1/content/{item['id']}").json["status"] == "removed"
    setting.center.post(
        f"/v1/content/{item['id']}/sightings",
        json={"url": "https://social.example/again", "platform": "social.example"},
    )
    assert setting.center.get(f"/v1/content/{item['id']}").json["status"] == "reappeared"


def test_content_scopes_are_checked(agencies: Agencies, setting: Setting) -> None:
    reader = agencies.client_of(setting.center.org, "support_center", scopes="content.read")
    body = {"kind": "video", "sha256": sha(40), "involves_minor": False}
    assert reader.post(f"/v1/cases/{setting.case_id}/content", json=body).status_code == 403
    assert reader.get(f"/v1/cases/{setting.case_id}/content").status_code == 200


@pytest.mark.parametrize("ending", ["rejected", "cancelled"])
def test_takedown_ending_without_removal_puts_items_back_online(
    setting: Setting, ending: str
) -> None:
    kept, freed = (
        register(setting.center, setting.case_id, 50),
        register(setting.center, setting.case_id, 51),
    )
    first = setting.takedown(kept, freed)
    setting.takedown(kept)  # a second, live takedown still asks for `kept`
    if ending == "rejected":
        move(setting.kcsc, first, "rejected", reason="wrong jurisdiction")
    else:
        move(setting.center, first, "cancelled")
    assert setting.center.get(f"/v1/content/{kept['id']}").json["status"] == "takedown_requested"
    assert setting.center.get(f"/v1/content/{freed['id']}").json["status"] == "online"
