"""The seed story, fifteen days later (issue 7), end to end over HTTP: photos taken down by the
standards commission come back on another site; the commission's monitoring hit matches them,
they are `reappeared`, a takedown is drafted for the center, the center sends it and the
commission completes it. The outbox holds the events the relay publishes."""

from pathlib import Path

from PIL import Image

from coordination.runtime import Runtime
from services.content.hashing import hash_file
from tests.support.agencies import Agencies
from tests.support.monitoring import events, update
from tests.unit.test_pdq import structured_picture, unrelated_picture


def test_story_reupload_fifteen_days_later_is_taken_down_again(
    rt: Runtime, agencies: Agencies, tmp_path: Path
) -> None:
    center = agencies.new("support_center")
    commission = agencies.new("standards_commission")
    structured_picture().save(tmp_path / "photo1.png")
    unrelated_picture().save(tmp_path / "photo2.png")
    photos = [hash_file(tmp_path / name) for name in ("photo1.png", "photo2.png")]

    # The center opens the case, records consent and the two photos, and asks for takedown.
    case = center.post(
        "/v1/cases",
        json={"harm_types": ["non_consensual_distribution"], "victim": {"age_band": "20s"}},
    ).json
    consent = center.post(
        f"/v1/cases/{case['id']}/consents",
        json={"purpose": "share_with_standards_commission", "granted_by": "victim"},
    )
    assert consent.status_code == 201, consent.get_data(as_text=True)
    items = []
    for photo in photos:
        response = center.post(
            f"/v1/cases/{case['id']}/content",
            json={**photo, "involves_minor": False, "description": "intimate photo"},
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        items.append(response.json)
    ids = [item["id"] for item in items]
    first = center.post(
        "/v1/referrals",
        json={
            "case_id": case["id"],
            "type": "takedown",
            "to_org": commission.org,
            "content_ids": ids,
        },
    ).json
    # The commission orders deletion and reports the photos removed.
    update(commission, first["id"], status="accepted")
    update(commission, first["id"], status="in_progress", business_status="deletion_ordered")
    update(commission, first["id"], business_status="removed")
    update(commission, first["id"], status="completed")
    assert center.get(f"/v1/cases/{case['id']}").json["status"] == "monitoring"

    # Fifteen days later the first photo is back, re-encoded and smaller, on a foreign site.
    structured_picture().resize((400, 300), Image.Resampling.BILINEAR).save(
        tmp_path / "reupload.jpg", quality=75
    )
    seen = hash_file(tmp_path / "reupload.jpg")
    hit = commission.post(
        "/v1/content/matches",
        json={
            "sha256": seen["sha256"],
            "pdq": seen["pdq"],
            "pdq_quality": seen["pdq_quality"],
            "url": "https://foreign.example/v/123",
            "platform": "foreign-tube",
        },
    )
    assert hit.status_code == 200, hit.get_data(as_text=True)
    [match] = hit.json["matches"]
    assert (match["content_id"], match["match_type"], match["status"]) == (
        ids[0],
        "pdq",
        "reappeared",
    )
    assert match["draft_referral_id"] is None  # the draft is the center's until it sends it
    assert center.get(f"/v1/content/{ids[0]}").json["status"] == "reappeared"
    assert center.get(f"/v1/content/{ids[1]}").json["status"] == "removed"
    assert center.get(f"/v1/cases/{case['id']}").json["status"] == "active"

    # The center finds the drafted takedown, based on the first one, and sends it.
    drafts = center.get(
        "/v1/referrals",
        query_string={"direction": "outbox", "status": "draft", "case_id": case["id"]},
    ).json["items"]
    [draft] = drafts
    assert (draft["type"], draft["to_org"], draft["based_on"]) == (
        "takedown",
        commission.org,
        first["id"],
    )
    assert draft["content_ids"] == [ids[0]]
    assert commission.get(f"/v1/referrals/{draft['id']}").status_code == 404
    sent = update(center, draft["id"], status="requested")
    assert sent["status"] == "requested"
    assert sent["due_at"] is not None

    # The commission blocks the foreign site and completes the new referral.
    inbox = commission.get("/v1/referrals", query_string={"direction": "inbox"}).json["items"]
    assert draft["id"] in {referral["id"] for referral in inbox}
    update(commission, draft["id"], status="accepted")
    update(commission, draft["id"], status="in_progress", business_status="blocking_ordered")
    update(commission, draft["id"], business_status="removed")
    done = update(commission, draft["id"], status="completed")
    assert done["status"] == "completed"
    assert center.get(f"/v1/content/{ids[0]}").json["status"] == "removed"
    assert center.get(f"/v1/cases/{case['id']}").json["status"] == "monitoring"

    # The outbox: the re-upload for the owner, then the new takedown, then the removal.
    story = [
        (event.type, event.subject)
        for event in events(rt)
        if event.key == case["id"]
        and event.type
        in ("content.reupload_detected", "referral.requested", "content.removed", "case.updated")
    ]
    after_hit = story[story.index(("content.reupload_detected", ids[0])) :]
    assert after_hit == [
        ("content.reupload_detected", ids[0]),
        ("case.updated", case["id"]),  # monitoring -> active
        ("referral.requested", draft["id"]),
        ("content.removed", ids[0]),
        ("case.updated", case["id"]),  # active -> monitoring
    ]
    [detected] = events(rt, subject=ids[0], type_="content.reupload_detected")
    assert detected.data["owner_org"] == center.org
    assert detected.data["detected_by_org"] == commission.org
    assert detected.data["previous_status"] == "removed"
    assert detected.data["draft_referral_id"] == draft["id"]
    [requested] = events(rt, subject=draft["id"], type_="referral.requested")
    assert requested.data["based_on"] == first["id"]
