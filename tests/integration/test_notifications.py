"""Per-org notification feeds built from the stream: who is told, numbered without gaps, served
at GET /v1/notifications?after=N (each org only its own) and published on Kafka (key = org)."""

from typing import Any

import pytest

from coordination.config import Settings
from coordination.runtime import Runtime
from events import cloudevents
from events.broker import EmbeddedBroker
from services.actor import Actor
from services.messages import TOPIC_NOTIFICATIONS
from services.referrals.events import ReferralRequested, ReferralStatusChanged
from tests.conftest import unique
from tests.support.agencies import Agencies, Agency
from tests.support.stream import (
    TopicReader,
    assert_valid_cloudevent,
    make_notification_consumer,
    make_relay,
    running,
    wait_for,
    with_broker,
    write_referral_event,
)

pytestmark = pytest.mark.kafka


def requested(case_id: str, referral_id: str, sender: Agency, receiver: Agency) -> Any:
    return ReferralRequested(
        subject=referral_id,
        case_id=case_id,
        owner_org=sender.org,
        referral_id=referral_id,
        from_org=sender.org,
        to_org=receiver.org,
        referral_type="investigation",
        status="requested",
    )


def accepted(case_id: str, referral_id: str, sender: Agency, receiver: Agency) -> Any:
    return ReferralStatusChanged(
        subject=referral_id,
        case_id=case_id,
        owner_org=sender.org,
        referral_id=referral_id,
        from_org=sender.org,
        to_org=receiver.org,
        referral_type="investigation",
        status="accepted",
        previous_status="requested",
        actor_side="receiver",
    )


def actor_of(agency: Agency) -> Actor:
    return Actor(org=agency.org, org_kind=agency.kind, client_id=agency.client_id)


def feed(agency: Agency, after: int = 0) -> dict[str, Any]:
    response = agency.get(f"/v1/notifications?after={after}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.json  # type: ignore[assignment]
    return body


def test_each_org_gets_its_own_gap_free_feed(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker, agencies: Agencies
) -> None:
    center, police = agencies.new("support_center"), agencies.new("police")
    bystander = agencies.new("counseling")
    case = unique("case")
    referrals = [unique("ref") for _ in range(3)]
    event_ids = [
        write_referral_event(rt, requested(case, ref, center, police), actor_of(center))
        for ref in referrals
    ]
    event_ids.append(
        write_referral_event(rt, accepted(case, referrals[0], center, police), actor_of(police))
    )
    kafka = with_broker(settings, broker)
    reader = TopicReader(broker, TOPIC_NOTIFICATIONS)
    with (
        running(make_relay(rt, kafka)),
        running(make_notification_consumer(rt, kafka, unique("notifications"))),
    ):
        wait_for(lambda: len(feed(police)["items"]) == 3, what="the police feed")
        wait_for(lambda: len(feed(center)["items"]) == 1, what="the center feed")
        on_kafka = wait_for(
            lambda: (
                [
                    (r.key.decode(), cloudevents.decode(r.value).data)
                    for r in reader.poll()
                    if r.key.decode() in (police.org, center.org)
                ]
                if len([r for r in reader.poll() if r.key.decode() in (police.org, center.org)])
                >= 4
                else None
            ),
            what="notifications on Kafka",
        )
        for record in reader.poll():
            assert_valid_cloudevent(record.value)
    reader.close()

    police_feed = feed(police)
    assert [n["seq"] for n in police_feed["items"]] == [1, 2, 3]
    assert [n["referral_id"] for n in police_feed["items"]] == referrals
    assert {n["type"] for n in police_feed["items"]} == {"referral.requested"}
    assert police_feed["last_seq"] == 3
    assert [n["seq"] for n in feed(police, after=2)["items"]] == [3]
    center_feed = feed(center)["items"]
    assert [(n["seq"], n["type"], n["status"]) for n in center_feed] == [
        (1, "referral.status_changed", "accepted")
    ]
    assert feed(bystander)["items"] == []
    assert sorted((org, data["seq"]) for org, data in on_kafka) == sorted(
        [(police.org, 1), (police.org, 2), (police.org, 3), (center.org, 1)]
    )


def test_notifications_need_a_token(client: Any) -> None:
    response = client.get("/v1/notifications")
    assert response.status_code == 401


def test_notification_feed_rejects_a_bad_after(agencies: Agencies) -> None:
    police = agencies.new("police")
    response = police.get("/v1/notifications?after=-1")
    assert response.status_code == 422
