"""The seed story of issue 4, end to end over HTTP: a 17-year-old whose photos are shared on a
social site. At each step every org sees exactly what it should, and nothing more."""

from typing import Any

from coordination.runtime import Runtime
from tests.support.agencies import Agencies, Agency
from tests.support.casework import events, grant, move, register, sha, update

NAME = "Kim Seo-yeon"


def ids(agency: Agency, path: str) -> list[str]:
    response = agency.get(path)
    assert response.status_code == 200, (path, response.get_data(as_text=True))
    return [item["id"] for item in response.json["items"]]


def test_seed_story_each_org_sees_exactly_its_share(agencies: Agencies, rt: Runtime) -> None:
    center = agencies.new("support_center")
    kcsc = agencies.new("standards_commission")
    police = agencies.new("police")
    counsel = agencies.new("counseling")
    bystander = agencies.new("legal_aid")  # referred nothing: sees nothing, ever

    # The center opens the case of a 17-year-old and records the guardian's consents.
    opened = center.post(
        "/v1/cases",
        json={"harm_types": ["non_consensual_distribution"], "victim": {"age_band": "14_17"}},
    )
    assert opened.status_code == 201
    case: dict[str, Any] = opened.json
    case_id = case["id"]
    assert case["victim"]["is_minor"] is True
    identity = center.put(
        f"/v1/cases/{case_id}/victim",
        json={"name": NAME, "phone": "010-0000-0000", "guardian": {"name": "Kim Min-ji"}},
    )
    assert identity.status_code == 200, identity.get_data(as_text=True)
    for purpose in (
        "share_with_standards_commission",
        "share_with_police",
        "share_with_counseling",
    ):
        grant(center, case_id, purpose, granted_by="guardian")

    # Three items, hashes only.
    items = [
        register(center, case_id, n, involves_minor=True, description=f"photo {n} of a set")
        for n in (1, 2, 3)
    ]
    item_ids = sorted(item["id"] for item in items)
    for other in (kcsc, police, counsel, bystander):
        assert other.get(f"/v1/cases/{case_id}").status_code == 404
        assert other.get(f"/v1/content/{items[0]['id']}").status_code in (403, 404)

    # A takedown to the standards commission: it sees the case and the three items, no identity.
    takedown = center.post(
        "/v1/referrals",
        json={
            "case_id": case_id,
            "type": "takedown",
            "to_org": kcsc.org,
            "content_ids": item_ids,
            "note": "Three photos on a social site.",
        },
    ).json
    assert takedown["due_at"] is not None
    assert kcsc.get(f"/v1/cases/{case_id}").status_code == 200
    assert sorted(ids(kcsc, f"/v1/cases/{case_id}/content")) == item_ids
    assert kcsc.get(f"/v1/cases/{case_id}/victim").status_code in (403, 404)
    assert ids(kcsc, "/v1/referrals?direction=inbox") == [takedown["id"]]
    for other in (police, counsel, bystander):
        assert other.get(f"/v1/referrals/{takedown['id']}").status_code == 404

    takedown = move(kcsc, takedown, "accepted")
    assert update(kcsc, takedown, business_status="deletion_ordered").status_code == 201
    takedown = move(kcsc, takedown, "in_progress")
    takedown = move(kcsc, takedown, "completed", business_status="removed")
    for item_id in item_ids:
        assert center.get(f"/v1/content/{item_id}").json["status"] == "removed"
    removed = [e for item_id in item_ids for e in events(rt, item_id, "content.removed")]
    assert len(removed) == 3
    assert all(e["involves_minor"] and e["seconds_to_removal"] is not None for e in removed)
    # Completed, the referral still shares its case and items with the commission.
    assert sorted(ids(kcsc, f"/v1/cases/{case_id}/content")) == item_ids

    # An investigation to the police, sharing the victim's identity but no content.
    investigation = center.post(
        "/v1/referrals",
        json={
            "case_id": case_id,
            "type": "investigation",
            "to_org": police.org,
            "share_victim_identity": True,
        },
    ).json
    assert police.get(f"/v1/cases/{case_id}").status_code == 200
    assert police.get(f"/v1/cases/{case_id}/victim").json["name"] == NAME
    assert ids(police, f"/v1/cases/{case_id}/content") == []
    assert police.get(f"/v1/referrals/{takedown['id']}").status_code == 404
    assert ids(police, "/v1/referrals") == [investigation["id"]]
    assert ids(kcsc, "/v1/referrals") == [takedown["id"]]
    assert kcsc.get(f"/v1/cases/{case_id}/victim").status_code in (403, 404)

    investigation = move(police, investigation, "accepted")
    for code in ("suspect_identified", "arrested"):
        assert update(police, investigation, business_status=code).status_code == 201
    history = police.get(f"/v1/referrals/{investigation['id']}/updates").json["items"]
    assert [(u["status"], u["business_status"]) for u in history] == [
        ("accepted", None),
        (None, "suspect_identified"),
        (None, "arrested"),
    ]
    assert center.get(f"/v1/referrals/{investigation['id']}/updates").json["items"] == history
    assert center.get(f"/v1/referrals/{investigation['id']}").json["business_status"] == "arrested"

    # Legal support by the center, therapy by a counseling org through its accepted referral.
    legal = center.post(
        f"/v1/cases/{case_id}/services",
        json={"type": "legal_support", "delivered_at": "2026-05-02T10:00:00Z"},
    )
    assert legal.status_code == 201
    counseling = center.post(
        "/v1/referrals",
        json={"case_id": case_id, "type": "counseling", "to_org": counsel.org},
    ).json
    move(counsel, counseling, "accepted")
    therapy = counsel.post(
        f"/v1/cases/{case_id}/services",
        json={"type": "psychological_therapy", "delivered_at": "2026-05-03T10:00:00Z", "count": 4},
    )
    assert therapy.status_code == 201
    assert sorted(ids(center, f"/v1/cases/{case_id}/services")) == sorted(
        [legal.json["id"], therapy.json["id"]]
    )
    assert ids(counsel, f"/v1/cases/{case_id}/services") == [therapy.json["id"]]
    assert counsel.get(f"/v1/cases/{case_id}/content").status_code == 403  # no content.read
    assert counsel.get(f"/v1/cases/{case_id}/victim").status_code in (403, 404)

    # The bystander never saw anything; the center sees all of it.
    assert bystander.get(f"/v1/cases/{case_id}").status_code == 404
    assert ids(bystander, "/v1/referrals") == []
    assert sorted(ids(center, "/v1/referrals?direction=outbox")) == sorted(
        [takedown["id"], investigation["id"], counseling["id"]]
    )
    # No event of the story carries the victim's name, a note or a description.
    story = [
        e
        for subject in [case_id, *item_ids, takedown["id"], investigation["id"]]
        for e in events(rt, subject)
    ]
    assert story
    for secret in (NAME, "social site", "photo 1 of a set", sha(1)):
        assert secret not in repr(story)
