"""Issue 7 on the real broker: the re-upload and the overdue takedown reach Kafka as CloudEvents,
keyed by their case, through the outbox relay; the notification consumer tells the owning center
of the re-upload, and both sides of the overdue takedown."""

from typing import Any

import pytest

pytest.importorskip("events.relay", reason="the outbox relay (issue 5) is not in this tree")

from sqlalchemy import select

from coordination.config import Settings
from coordination.runtime import Runtime
from events import cloudevents
from events.broker import EmbeddedBroker
from services.messages import TOPIC_EVENTS
from services.monitoring.commands import Sweep
from services.monitoring.handlers import sweep
from services.outbox.models import OutboxMessage
from services.unit_of_work import UnitOfWork
from tests.conftest import unique
from tests.support.agencies import Agencies, Agency
from tests.support.monitoring import (
    complete_removal,
    later,
    open_case,
    register,
    send_takedown,
)
from tests.support.stream import (
    TopicReader,
    make_notification_consumer,
    make_relay,
    running,
    wait_for,
    with_broker,
)

pytestmark = pytest.mark.kafka


def outbox_id(rt: Runtime, type_: str, subject: str) -> str:
    with rt.session_factory() as session:
        return session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.type == "org.coordination." + type_,
                OutboxMessage.subject == subject,
            )
        ).one()


def notified(agency: Agency, wanted: set[tuple[str, str]]) -> list[dict[str, Any]] | None:
    """The agency's feed once it holds every (type, event id) wanted; None before."""
    response = agency.get("/v1/notifications", query_string={"after": "0", "limit": "200"})
    assert response.status_code == 200, response.get_data(as_text=True)
    items: list[dict[str, Any]] = response.json["items"]
    return items if wanted <= {(n["type"], n["event_id"]) for n in items} else None


def test_stream_reupload_and_overdue_reach_kafka_keyed_by_case(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker, agencies: Agencies
) -> None:
    center = agencies.new("support_center")
    commission = agencies.new("standards_commission")
    case_id = open_case(rt, center)
    item = register(center, case_id)
    first = send_takedown(center, commission, case_id, [item["id"]])
    complete_removal(commission, first["id"])
    hit = commission.post(
        "/v1/content/matches",
        json={"sha256": item["sha256"], "url": "https://k.test/1", "platform": "k"},
    )
    draft_id = center.get(
        "/v1/referrals", query_string={"status": "draft", "case_id": case_id}
    ).json["items"][0]["id"]
    sent = center.get(f"/v1/referrals/{draft_id}")
    center.post(
        f"/v1/referrals/{draft_id}/updates",
        json={"status": "requested"},
        headers={"If-Match": sent.headers["ETag"]},
    )
    sweep(Sweep(), UnitOfWork(rt.session_factory, later(hours=25)))
    reupload = outbox_id(rt, "content.reupload_detected", item["id"])
    overdue = outbox_id(rt, "referral.overdue", draft_id)

    kafka = with_broker(settings, broker)
    reader = TopicReader(broker, TOPIC_EVENTS)
    with (
        running(make_relay(rt, kafka)),
        running(make_notification_consumer(rt, kafka, unique("notifications"))),
    ):
        records = reader.wait_for_ids([reupload, overdue], timeout=90)
        told = {
            side.org: wait_for(
                lambda side=side, wanted=wanted: notified(side, wanted),  # type: ignore[misc]
                timeout=90,  # the backlog of the whole test database goes first
                what=f"{side.kind} notifications",
            )
            for side, wanted in (
                (center, {("content.reupload_detected", reupload), ("referral.overdue", overdue)}),
                (commission, {("referral.overdue", overdue)}),
            )
        }
    reader.close()

    assert hit.json["matches"][0]["status"] == "reappeared"
    by_id = {cloudevents.decode(record.value).id: record for record in records}
    for event_id, type_, subject in (
        (reupload, "content.reupload_detected", item["id"]),
        (overdue, "referral.overdue", draft_id),
    ):
        record = by_id[event_id]
        event = cloudevents.decode(record.value)
        assert record.key.decode() == case_id
        assert event.type == type_
        assert event.subject == subject
    assert cloudevents.decode(by_id[overdue].value).data["to_org"] == commission.org
    [reupload_note] = [n for n in told[center.org] if n["event_id"] == reupload]
    assert (reupload_note["content_id"], reupload_note["case_id"]) == (item["id"], case_id)
    for side in (center, commission):
        [overdue_note] = [n for n in told[side.org] if n["event_id"] == overdue]
        assert overdue_note["referral_id"] == draft_id
    assert reupload not in {n["event_id"] for n in told[commission.org]}  # the owner is told
    assert cloudevents.decode(by_id[reupload].value).data["owner_org"] == center.org
