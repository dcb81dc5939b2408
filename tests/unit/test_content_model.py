"""Content items on the aggregate: hash rules, sightings, takedown and removal."""

from datetime import UTC, datetime, timedelta

import pytest

from services.content.models import ContentItem
from services.errors import InvalidInput

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SHA = "a" * 64
PDQ = "F" * 64


def item(**change: object) -> ContentItem:
    fields: dict[str, object] = {
        "item_id": "i-1",
        "case_id": "c-1",
        "owner_org": "center-1",
        "kind": "image",
        "sha256": SHA,
        "pdq": PDQ,
        "pdq_quality": 80,
        "description": None,
        "involves_minor": True,
        "now": NOW,
    }
    fields.update(change)
    made = ContentItem.register(**fields)  # type: ignore[arg-type]
    made.pull_events()
    return made


def test_register_keeps_pdq_lowercase_and_announces_no_hash() -> None:
    made = ContentItem.register(
        item_id="i-1",
        case_id="c-1",
        owner_org="center-1",
        kind="image",
        sha256=SHA,
        pdq=PDQ,
        pdq_quality=80,
        description="a photo",
        involves_minor=True,
        now=NOW,
    )
    assert made.pdq == PDQ.lower()
    [(_, event)] = made.pull_events()
    assert event.type == "content.registered"
    assert SHA not in repr(event.data())
    assert "a photo" not in repr(event.data())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sha256": SHA.upper()}, "sha256"),
        ({"sha256": "a" * 63}, "sha256"),
        ({"pdq": "g" * 64}, "pdq"),
        ({"pdq_quality": None}, "pdq_quality"),
        ({"pdq": None, "pdq_quality": None}, "pdq"),
        ({"pdq_quality": 101}, "pdq_quality"),
        ({"kind": "audio"}, "kind"),
    ],
)
def test_register_refuses_bad_hashes(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        item(**change)
    assert field in (refused.value.errors or {})


def test_video_may_go_without_pdq() -> None:
    assert item(kind="video", pdq=None, pdq_quality=None).pdq is None


def test_removal_records_time_from_takedown_request() -> None:
    made = item()
    made.takedown_requested(NOW)
    assert made.status == "takedown_requested"
    later = NOW + timedelta(hours=5)
    assert made.removed(owner_org="center-1", referral_id="r-1", now=later) is True
    [(_, event)] = made.pull_events()
    assert event.data()["seconds_to_removal"] == 5 * 3600
    assert made.removed(owner_org="center-1", referral_id="r-1", now=later) is False
    assert made.pull_events() == []


def test_online_sighting_after_removal_is_a_reappearance() -> None:
    made = item()
    made.removed(owner_org="center-1", referral_id=None, now=NOW)
    made.pull_events()
    made.record_sighting(
        sighting_id="s-1",
        owner_org="center-1",
        by_org="center-1",
        url="https://x.example/1",
        platform="x",
        seen_at=NOW,
        state="online",
        removed_at=None,
        now=NOW,
    )
    assert made.status == "reappeared"
    [(_, event)] = made.pull_events()
    assert event.data()["status"] == "reappeared"
    assert "x.example" not in repr(event.data())


@pytest.mark.parametrize(
    ("state", "removed_at"),
    [("gone", None), ("online", NOW), ("removed", NOW - timedelta(days=1))],
)
def test_inconsistent_sighting_is_refused(state: str, removed_at: datetime | None) -> None:
    with pytest.raises(InvalidInput):
        item().record_sighting(
            sighting_id="s-1",
            owner_org="center-1",
            by_org="center-1",
            url="https://x.example/1",
            platform="x",
            seen_at=NOW,
            state=state,
            removed_at=removed_at,
            now=NOW,
        )


def test_takedown_that_ends_puts_the_item_back_online() -> None:
    made = item()
    made.takedown_requested(NOW)
    made.takedown_ended(NOW)
    assert made.status == "online"
