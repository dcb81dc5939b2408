"""POST /v1/content/matches (issue 7): a monitoring hit against the known hashes."""

from typing import Any

import pytest
from sqlalchemy import func, select

from coordination.runtime import Runtime
from services.content.models import Sighting
from services.monitoring.models import MonitoringHit
from tests.support.agencies import Agencies, Agency
from tests.support.monitoring import (
    check_contract,
    complete_removal,
    events,
    flip_bits,
    open_case,
    random_pdq,
    random_sha256,
    register,
    send_takedown,
)


def hit(agency: Agency, **body: Any) -> Any:
    body.setdefault("url", "https://example.test/p/1")
    body.setdefault("platform", "example")
    response = agency.post("/v1/content/matches", json=body)
    check_contract(response, "/v1/content/matches")
    return response


def sightings_of(rt: Runtime, content_id: str) -> int:
    with rt.session_factory() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Sighting).where(Sighting.content_id == content_id)
            )
            or 0
        )


@pytest.fixture
def center(agencies: Agencies) -> Agency:
    return agencies.new("support_center")


@pytest.fixture
def commission(agencies: Agencies) -> Agency:
    return agencies.new("standards_commission")


def test_match_exact_sha256_answers_item_and_distance_zero(rt: Runtime, center: Agency) -> None:
    case_id = open_case(rt, center)
    item = register(center, case_id)

    response = hit(center, sha256=item["sha256"])

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["matched"] is True
    assert body["owner_notified"] is True
    [match] = body["matches"]
    assert match["content_id"] == item["id"]
    assert match["case_id"] == case_id
    assert (match["match_type"], match["distance"]) == ("sha256", 0)
    assert match["status"] == "online"  # seen again, but it was never removed
    assert match["draft_referral_id"] is None
    assert sightings_of(rt, item["id"]) == 1
    [detected] = events(rt, subject=item["id"], type_="content.reupload_detected")
    assert detected.data["owner_org"] == center.org
    assert detected.data["sighting_id"] == match["sighting_id"]
    assert "url" not in detected.data


def test_match_pdq_distance_31_matches_and_32_does_not(rt: Runtime, center: Agency) -> None:
    case_id = open_case(rt, center)
    pdq = random_pdq()
    item = register(center, case_id, pdq=pdq, quality=80)

    near = hit(center, pdq=flip_bits(pdq, 31), pdq_quality=80, url="https://a.test/1")
    far = hit(center, pdq=flip_bits(pdq, 32), pdq_quality=80, url="https://a.test/2")

    assert near.json["matched"] is True
    assert [(m["content_id"], m["distance"], m["match_type"]) for m in near.json["matches"]] == [
        (item["id"], 31, "pdq")
    ]
    assert far.json == {
        "matched": False,
        "owner_notified": False,
        "low_quality": False,
        "matches": [],
    }


def test_match_pdq_accepts_uppercase_hex(rt: Runtime, center: Agency) -> None:
    case_id = open_case(rt, center)
    pdq = random_pdq()
    item = register(center, case_id, pdq=pdq, quality=80)

    response = hit(center, pdq=flip_bits(pdq, 3).upper(), pdq_quality=80)

    assert [m["content_id"] for m in response.json["matches"]] == [item["id"]]


def test_match_query_quality_49_is_kept_low_quality_and_never_matched(
    rt: Runtime, center: Agency
) -> None:
    case_id = open_case(rt, center)
    pdq = random_pdq()
    item = register(center, case_id, pdq=pdq, quality=80)

    low = hit(center, pdq=pdq, pdq_quality=49, url="https://low.test/x")
    enough = hit(center, pdq=pdq, pdq_quality=50, url="https://ok.test/x")

    assert low.json["matched"] is False
    assert low.json["low_quality"] is True
    with rt.session_factory() as session:
        kept = session.get(MonitoringHit, low.json["hit_id"])
        assert kept is not None
        assert (kept.reason, kept.pdq, kept.pdq_quality) == ("low_quality", pdq, 49)
        assert kept.reported_by_org == center.org
    assert [m["content_id"] for m in enough.json["matches"]] == [item["id"]]
    assert sightings_of(rt, item["id"]) == 1  # from the quality-50 hit only


def test_match_known_quality_49_never_matches_by_pdq(rt: Runtime, center: Agency) -> None:
    case_id = open_case(rt, center)
    weak, strong = random_pdq(), random_pdq()
    weak_item = register(center, case_id, pdq=weak, quality=49)
    strong_item = register(center, case_id, pdq=strong, quality=50)

    miss = hit(center, pdq=weak, pdq_quality=100, url="https://w.test/1")
    match = hit(center, pdq=strong, pdq_quality=100, url="https://w.test/2")
    exact = hit(center, sha256=weak_item["sha256"], url="https://w.test/3")

    assert miss.json["matched"] is False
    assert [m["content_id"] for m in match.json["matches"]] == [strong_item["id"]]
    assert [m["content_id"] for m in exact.json["matches"]] == [weak_item["id"]]  # SHA-256 still


def test_match_miss_records_nothing(rt: Runtime, center: Agency) -> None:
    before = events(rt)[-1].position if events(rt) else 0

    response = hit(center, sha256=random_sha256(), pdq=random_pdq(), pdq_quality=90)

    assert response.status_code == 200
    assert response.json == {
        "matched": False,
        "owner_notified": False,
        "low_quality": False,
        "matches": [],
    }
    assert [e for e in events(rt) if e.position > before and e.type != "access.recorded"] == []


def test_match_removed_item_reappears_with_draft_takedown_based_on_last(
    rt: Runtime, center: Agency, commission: Agency
) -> None:
    case_id = open_case(rt, center)
    item = register(center, case_id)
    first = send_takedown(center, commission, case_id, [item["id"]])
    complete_removal(commission, first["id"])

    response = hit(center, sha256=item["sha256"], url="https://mirror.test/again")

    [match] = response.json["matches"]
    assert match["status"] == "reappeared"
    draft = center.get(f"/v1/referrals/{match['draft_referral_id']}").json
    assert draft["status"] == "draft"
    assert (draft["type"], draft["to_org"], draft["based_on"]) == (
        "takedown",
        commission.org,
        first["id"],
    )
    assert draft["content_ids"] == [item["id"]]
    assert center.get(f"/v1/content/{item['id']}").json["status"] == "reappeared"
    [detected] = events(rt, subject=item["id"], type_="content.reupload_detected")
    assert detected.data["previous_status"] == "removed"
    assert detected.data["draft_referral_id"] == draft["id"]


def test_match_same_url_twice_records_and_announces_once(rt: Runtime, center: Agency) -> None:
    case_id = open_case(rt, center)
    item = register(center, case_id)

    first = hit(center, sha256=item["sha256"], url="https://same.test/1")
    second = hit(center, sha256=item["sha256"], url="https://same.test/1")

    assert first.json["matches"][0]["sighting_id"] is not None
    assert second.json["matches"][0]["sighting_id"] is None
    assert sightings_of(rt, item["id"]) == 1
    assert len(events(rt, subject=item["id"], type_="content.reupload_detected")) == 1


def test_match_other_center_learns_only_that_owner_was_told(
    rt: Runtime, agencies: Agencies, center: Agency
) -> None:
    other = agencies.new("support_center")
    case_id = open_case(rt, center)
    item = register(center, case_id)

    response = hit(other, sha256=item["sha256"])

    assert response.status_code == 200
    assert response.json == {
        "matched": True,
        "owner_notified": True,
        "low_quality": False,
        "matches": [],
    }
    assert item["id"] not in response.get_data(as_text=True)
    assert case_id not in response.get_data(as_text=True)
    [detected] = events(rt, subject=item["id"], type_="content.reupload_detected")
    assert detected.data["owner_org"] == center.org
    assert detected.data["detected_by_org"] == other.org


def test_match_commission_sees_ids_only_of_items_shared_with_it(
    rt: Runtime, center: Agency, commission: Agency
) -> None:
    case_id = open_case(rt, center)
    shared, unshared = register(center, case_id), register(center, case_id)
    first = send_takedown(center, commission, case_id, [shared["id"]])
    complete_removal(commission, first["id"])

    seen = hit(commission, sha256=shared["sha256"], url="https://c.test/1")
    hidden = hit(commission, sha256=unshared["sha256"], url="https://c.test/2")

    [match] = seen.json["matches"]
    assert match["content_id"] == shared["id"]
    assert match["status"] == "reappeared"
    assert match["draft_referral_id"] is None  # the center's draft is not the commission's yet
    assert hidden.json == {
        "matched": True,
        "owner_notified": True,
        "low_quality": False,
        "matches": [],
    }


def test_match_closed_case_no_longer_matches(rt: Runtime, center: Agency) -> None:
    from services.cases.commands import UpdateCase
    from services.cases.handlers import update_case
    from tests.support.monitoring import actor_of

    case_id = open_case(rt, center)
    item = register(center, case_id)
    assert hit(center, sha256=item["sha256"], url="https://x.test/1").json["matched"] is True

    actor = actor_of(center)
    update_case(UpdateCase(case_id, None, status="closed"), rt.uow(actor), actor)

    assert hit(center, sha256=item["sha256"], url="https://x.test/2").json["matched"] is False


def test_match_refuses_org_kinds_that_do_not_monitor(agencies: Agencies) -> None:
    police = agencies.new("police")

    response = hit(police, sha256=random_sha256())

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "sha256"),
        ({"sha256": "ABC"}, "sha256"),
        ({"pdq": "0" * 64}, "pdq_quality"),
        ({"pdq": "0" * 64, "pdq_quality": 101}, "pdq_quality"),
        ({"sha256": "0" * 64, "url": ""}, "url"),
    ],
)
def test_match_invalid_hit_answers_422(center: Agency, body: dict[str, Any], field: str) -> None:
    response = hit(center, **body)

    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.json["errors"]


def test_match_concurrent_hits_on_removed_item_draft_one_takedown(
    app: Any, rt: Runtime, center: Agency, commission: Agency
) -> None:
    import threading

    from services.referrals.models import Referral

    case_id = open_case(rt, center)
    item = register(center, case_id)
    first = send_takedown(center, commission, case_id, [item["id"]])
    complete_removal(commission, first["id"])
    start = threading.Barrier(3)
    answers: list[Any] = []

    def post(n: int) -> None:
        client = app.test_client()
        start.wait(timeout=10)
        answers.append(
            client.post(
                "/v1/content/matches",
                json={"sha256": item["sha256"], "url": f"https://race.test/{n}", "platform": "r"},
                headers={"Authorization": f"Bearer {commission.token}"},
            )
        )

    threads = [threading.Thread(target=post, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    with rt.session_factory() as session:
        drafts = session.scalars(select(Referral).where(Referral.based_on == first["id"])).all()
    assert len(drafts) == 1
    assert sightings_of(rt, item["id"]) == 3
    assert len(events(rt, subject=item["id"], type_="content.reupload_detected")) == 3
