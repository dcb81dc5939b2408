"""The referral state machine (CONTRACT section 4) on the aggregate, every pair by each side."""

from datetime import UTC, datetime

import pytest

from services.errors import Conflict, InvalidInput
from services.referrals.models import (
    FINAL_STATUSES,
    RECEIVER,
    SENDER,
    STATUSES,
    TRANSITIONS,
    Referral,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SENDER_ORG, RECEIVER_ORG = "center-1", "kcsc-1"
ORG_OF = {SENDER: SENDER_ORG, RECEIVER: RECEIVER_ORG}

EXPECTED = {
    ("draft", "requested"): SENDER,
    ("draft", "cancelled"): SENDER,
    ("requested", "accepted"): RECEIVER,
    ("requested", "rejected"): RECEIVER,
    ("requested", "cancelled"): SENDER,
    ("accepted", "in_progress"): RECEIVER,
    ("accepted", "on_hold"): RECEIVER,
    ("accepted", "cancelled"): SENDER,
    ("in_progress", "on_hold"): RECEIVER,
    ("in_progress", "completed"): RECEIVER,
    ("in_progress", "failed"): RECEIVER,
    ("on_hold", "in_progress"): RECEIVER,
    ("on_hold", "cancelled"): SENDER,
}


def referral_in(status: str, referral_type: str = "takedown") -> Referral:
    referral = Referral.create(
        referral_id="r-1",
        case_id="c-1",
        referral_type=referral_type,
        from_org=SENDER_ORG,
        to_org=RECEIVER_ORG,
        owner_org=SENDER_ORG,
        content_ids=["i-1"],
        share_victim_identity=False,
        legal_basis=None,
        note=None,
        based_on=None,
        victim_age_band=None,
        harm_types=None,
        draft=status == "draft",
        due_hours=24,
        now=NOW,
    )
    referral.version = 1
    referral.status = status
    referral.pull_events()
    return referral


def move(referral: Referral, side: str, status: str, reason: str | None = None) -> None:
    referral.post_update(
        update_id="u-1",
        by_org=ORG_OF[side],
        status=status,
        business_status=None,
        note=None,
        reason=reason,
        occurred_at=NOW,
        due_hours=24,
        now=NOW,
    )


def test_transition_table_is_exactly_the_contract() -> None:
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize("side", [SENDER, RECEIVER])
@pytest.mark.parametrize("target", STATUSES)
@pytest.mark.parametrize("source", STATUSES)
def test_move_is_allowed_only_for_its_side_and_pair(source: str, target: str, side: str) -> None:
    referral = referral_in(source)
    reason = "out of scope" if target in ("rejected", "failed") else None
    if EXPECTED.get((source, target)) == side:
        move(referral, side, target, reason)
        assert referral.status == target
        types = [event.type for _, event in referral.pull_events()]
        first = "referral.requested" if target == "requested" else "referral.status_changed"
        assert types == [first, "referral.update_added"]
        assert referral.last_update_seq == 1
    else:
        with pytest.raises(Conflict):
            move(referral, side, target, reason)
        assert referral.status == source
        assert referral.last_update_seq == 0
        assert referral.pull_events() == []


@pytest.mark.parametrize("target", ["rejected", "failed"])
def test_move_needing_a_reason_is_refused_without_one(target: str) -> None:
    referral = referral_in("requested" if target == "rejected" else "in_progress")
    with pytest.raises(InvalidInput):
        move(referral, RECEIVER, target)
    assert referral.status in ("requested", "in_progress")
    assert referral.pull_events() == []


def test_sending_a_draft_sets_the_takedown_target() -> None:
    referral = referral_in("draft")
    referral.due_at = None
    move(referral, SENDER, "requested")
    assert referral.sent_at == NOW
    assert referral.due_at is not None
    assert (referral.due_at - NOW).total_seconds() == 24 * 3600


@pytest.mark.parametrize("final", sorted(FINAL_STATUSES))
def test_final_referral_takes_no_update_at_all(final: str) -> None:
    referral = referral_in(final)
    with pytest.raises(Conflict):
        referral.post_update(
            update_id="u-1",
            by_org=RECEIVER_ORG,
            status=None,
            business_status=None,
            note="one more thing",
            reason=None,
            occurred_at=NOW,
            due_hours=None,
            now=NOW,
        )


def test_business_status_is_the_receivers_once_accepted() -> None:
    referral = referral_in("requested")
    for org in (SENDER_ORG, RECEIVER_ORG):
        with pytest.raises(Conflict):
            referral.post_update(
                update_id="u-1",
                by_org=org,
                status=None,
                business_status="deletion_ordered",
                note=None,
                reason=None,
                occurred_at=NOW,
                due_hours=None,
                now=NOW,
            )
    referral.post_update(
        update_id="u-2",
        by_org=RECEIVER_ORG,
        status="accepted",
        business_status="deletion_ordered",
        note=None,
        reason=None,
        occurred_at=NOW,
        due_hours=None,
        now=NOW,
    )
    assert (referral.status, referral.business_status) == ("accepted", "deletion_ordered")


def test_events_carry_routing_ids_and_never_the_note() -> None:
    referral = referral_in("requested")
    referral.post_update(
        update_id="u-1",
        by_org=RECEIVER_ORG,
        status="accepted",
        business_status=None,
        note="victim lives at 12 Example Street",
        reason=None,
        occurred_at=NOW,
        due_hours=None,
        now=NOW,
    )
    for _, event in referral.pull_events():
        data = event.data()
        assert data["referral_id"] == "r-1"
        assert (data["from_org"], data["to_org"]) == (SENDER_ORG, RECEIVER_ORG)
        assert "Example Street" not in repr(data)
        if event.type == "referral.status_changed":
            assert (data["status"], data["previous_status"]) == ("accepted", "requested")
            assert data["referral_type"] == "takedown"
