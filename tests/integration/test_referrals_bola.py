"""Object-level authorisation for content, sightings, referrals, updates and services: every
operation, by every org that may not see the object, answers 404 (or 403 when its token lacks
the scope) with no data, the lists never include it, and nothing changes."""

from typing import Any

import pytest

from coordination.runtime import Runtime
from tests.support.agencies import Agencies, Agency
from tests.support.casework import grant, move, open_case, refer, register

KINDS = ("support_center", "police", "standards_commission", "legal_aid", "counseling", "platform")

OPERATIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/cases/{case}/content", None),
    (
        "POST",
        "/v1/cases/{case}/content",
        {"kind": "video", "sha256": "ab" * 32, "involves_minor": False},
    ),
    ("GET", "/v1/content/{item}", None),
    ("GET", "/v1/content/{item}/sightings", None),
    ("POST", "/v1/content/{item}/sightings", {"url": "https://x.example/1", "platform": "x"}),
    ("GET", "/v1/referrals/{referral}", None),
    ("GET", "/v1/referrals/{referral}/updates", None),
    ("POST", "/v1/referrals/{referral}/updates", {"status": "completed"}),
    ("GET", "/v1/referrals/{draft}", None),
    ("GET", "/v1/cases/{case}/services", None),
    (
        "POST",
        "/v1/cases/{case}/services",
        {"type": "legal_support", "delivered_at": "2026-01-01T00:00:00Z"},
    ),
]


@pytest.fixture
def story(agencies: Agencies, rt: Runtime) -> dict[str, Any]:
    center, kcsc = agencies.new("support_center"), agencies.new("standards_commission")
    case_id = open_case(center)
    grant(center, case_id, "share_with_standards_commission")
    item = register(center, case_id, 1, description="Secret Description")
    referral = refer(
        center,
        case_id=case_id,
        type="takedown",
        to_org=kcsc.org,
        content_ids=[item["id"]],
        note="Secret Note",
    )
    referral = move(kcsc, referral, "accepted")
    referral = move(kcsc, referral, "in_progress")
    draft = refer(
        center,
        case_id=case_id,
        type="takedown",
        to_org=kcsc.org,
        content_ids=[item["id"]],
        status="draft",
    )
    center.post(
        f"/v1/cases/{case_id}/services",
        json={"type": "deletion_support", "delivered_at": "2026-01-01T00:00:00Z"},
    )
    return {
        "center": center,
        "kcsc": kcsc,
        "case": case_id,
        "item": item,
        "referral": referral,
        "draft": draft,
    }


def state(center: Agency, story: dict[str, Any]) -> list[Any]:
    case, item, referral = story["case"], story["item"]["id"], story["referral"]["id"]
    return [
        center.get(path).json
        for path in (
            f"/v1/cases/{case}/content",
            f"/v1/content/{item}/sightings",
            f"/v1/referrals/{referral}",
            f"/v1/referrals/{referral}/updates",
            f"/v1/cases/{case}/services",
        )
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_unrelated_org_gets_404_on_every_operation(
    agencies: Agencies, story: dict[str, Any], kind: str
) -> None:
    stranger = agencies.new(kind)
    before = state(story["center"], story)
    ids = {
        "case": story["case"],
        "item": story["item"]["id"],
        "referral": story["referral"]["id"],
        "draft": story["draft"]["id"],
    }
    for method, template, body in OPERATIONS:
        path = template.format(**ids)
        response = stranger.request(method, path, json=body, headers={"If-Match": "*"})
        if response.status_code == 403:
            assert "insufficient_scope" in response.headers.get("WWW-Authenticate", ""), path
        else:
            assert response.status_code == 404, (
                kind,
                method,
                path,
                response.get_data(as_text=True),
            )
        text = response.get_data(as_text=True)
        for secret in ("Secret Description", "Secret Note", *ids.values()):
            assert secret not in text, (path, secret)
    if "referrals.read" in stranger.scope.split():
        assert stranger.get("/v1/referrals?limit=200").json["items"] == []
        assert stranger.get(f"/v1/referrals?case_id={story['case']}").json["items"] == []
    assert state(story["center"], story) == before


def test_receiver_sees_the_referral_but_not_the_draft_nor_other_items(
    story: dict[str, Any],
) -> None:
    kcsc, center = story["kcsc"], story["center"]
    other = register(center, story["case"], 2)
    assert kcsc.get(f"/v1/referrals/{story['referral']['id']}").status_code == 200
    assert kcsc.get(f"/v1/referrals/{story['draft']['id']}").status_code == 404
    assert kcsc.get(f"/v1/content/{other['id']}").status_code == 404
    listed = [r["id"] for r in kcsc.get("/v1/referrals").json["items"]]
    assert listed == [story["referral"]["id"]]
    content = [i["id"] for i in kcsc.get(f"/v1/cases/{story['case']}/content").json["items"]]
    assert content == [story["item"]["id"]]
    # The receiver sees the case, but only the services it provided: none.
    assert kcsc.get(f"/v1/cases/{story['case']}/services").json["items"] == []
