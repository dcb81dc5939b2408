"""No event, notification, webhook body, audit entry or log line carries the victim's name,
phone or email: the test plants known values through the API and searches every byte."""

import logging
import secrets

import pytest
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import select

from coordination.config import Settings
from coordination.runtime import Runtime
from events.broker import EmbeddedBroker
from events.kafka import TOPICS
from events.webhooks import WebhookOptions, WebhookSender
from services.audit.models import AuditEntry
from services.notifications.models import Delivery, Notification
from services.outbox.models import OutboxMessage
from tests.conftest import unique
from tests.integration.test_webhooks import Receiver
from tests.support.agencies import Agencies
from tests.support.casework import grant, move, open_case, refer
from tests.support.stream import (
    make_audit_consumer,
    make_notification_consumer,
    make_relay,
    running,
    wait_for,
    with_broker,
)

pytestmark = pytest.mark.kafka


def everything_on(broker: EmbeddedBroker) -> bytes:
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=10
    )
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in TOPICS
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        chunks: list[bytes] = []
        for _ in range(200):
            batch = consumer.poll(timeout_ms=100)
            for records in batch.values():
                for record in records:
                    chunks += [record.key or b"", record.value or b""]
                    chunks += [value for _, value in record.headers or ()]
            if all(consumer.position(tp) >= ends[tp] for tp in partitions) and not batch:
                break
        return b"\n".join(chunks)
    finally:
        consumer.close()


def test_planted_victim_identity_appears_nowhere_downstream(
    rt: Runtime,
    settings: Settings,
    broker: EmbeddedBroker,
    agencies: Agencies,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = secrets.token_hex(4)
    name, phone, email = (
        f"Plantedname{token}",
        f"+82-10-{token[:4]}-9{token[4:]}",
        f"pl{token}@v.test",
    )
    planted = [name, phone, email, phone.replace("-", "")]
    caplog.set_level(logging.DEBUG)
    center, police = agencies.new("support_center"), agencies.new("police")
    with Receiver() as receiver:
        for agency in (center, police):
            agency.post(
                "/v1/subscriptions",
                json={
                    "url": receiver.url,
                    "event_types": ["referral.requested", "referral.status_changed"],
                },
            )
        case_id = open_case(center)
        response = center.put(
            f"/v1/cases/{case_id}/victim", json={"name": name, "phone": phone, "email": email}
        )
        assert response.status_code in (200, 201), response.get_data(as_text=True)
        grant(center, case_id, "share_with_police")
        referral = refer(
            center,
            case_id=case_id,
            type="investigation",
            to_org=police.org,
            share_victim_identity=True,
            note=f"victim {name} reachable at {phone} or {email}",
        )
        assert police.get(f"/v1/cases/{case_id}/victim").status_code == 200
        move(police, referral, "accepted", note=f"called {phone}")
        # Refused and unrouted requests that carry the values in the query string.
        police.get(f"/v1/notifications?after=0&name={name}")
        police.get(f"/v1/victims/{email}?phone={phone}")

        kafka = with_broker(settings, broker)
        options = WebhookOptions(poll_interval_s=0.02)
        with (
            running(make_relay(rt, kafka)),
            running(make_audit_consumer(rt, kafka, unique("audit"))),
            running(make_notification_consumer(rt, kafka, unique("notifications"))),
            running(WebhookSender(rt.session_factory, options=options)),
        ):
            wait_for(lambda: len(receiver.requests) >= 2, timeout=60, what="two webhooks")
            wait_for(lambda: _entries_for_case(rt, case_id) >= 4, timeout=60, what="audit entries")
        webhook_bytes = b"\n".join(
            body + repr(headers).encode() for headers, body, _ in receiver.requests
        )

    with rt.session_factory() as session:
        stored = "\n".join(
            [repr(row.__dict__) for row in session.scalars(select(OutboxMessage))]
            + [repr(row.__dict__) for row in session.scalars(select(AuditEntry))]
            + [repr(row.__dict__) for row in session.scalars(select(Notification))]
            + [repr(row.__dict__) for row in session.scalars(select(Delivery))]
        )
    haystacks = {
        "kafka": everything_on(broker).decode(errors="replace"),
        "database": stored,
        "webhooks": webhook_bytes.decode(errors="replace"),
        "logs": caplog.text + "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records),
    }
    for where, text in haystacks.items():
        for value in planted:
            assert value not in text, f"{value!r} found in {where}"
    # The search is meaningful: the webhooks and the audit trail did record this case.
    assert case_id in haystacks["kafka"]
    assert referral["id"] in haystacks["webhooks"]


def _entries_for_case(rt: Runtime, case_id: str) -> int:
    with rt.session_factory() as session:
        return len(
            session.scalars(select(AuditEntry.index).where(AuditEntry.case_id == case_id)).all()
        )
