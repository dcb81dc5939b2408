"""Every /v1 request leaves an access record on coordination.audit (through the outbox):
reads, refusals (401, 403, 404) and unrouted paths, with no query string or personal data."""

import json
import logging
import threading
from collections.abc import Sequence
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from coordination.config import Settings
from coordination.http import access_records
from coordination.runtime import Runtime
from events import cloudevents
from events.broker import EmbeddedBroker
from services.access_records.commands import RecordAccess
from services.audit.models import AuditEntry
from services.db import is_sqlite
from services.messages import TOPIC_AUDIT
from services.outbox.models import OutboxMessage
from tests.conftest import unique
from tests.support.agencies import Agencies
from tests.support.backends import terminate_backends
from tests.support.stream import (
    assert_valid_cloudevent,
    make_audit_consumer,
    make_relay,
    running,
    wait_for,
    with_broker,
)


def record_of(rt: Runtime, request_id: str) -> tuple[OutboxMessage, dict[str, Any]]:
    with rt.session_factory() as session:
        row = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.request_id == request_id, OutboxMessage.topic == TOPIC_AUDIT
            )
        ).one()
        session.expunge(row)
    return row, json.loads(row.data)


def test_an_allowed_read_is_recorded(rt: Runtime, agencies: Agencies) -> None:
    police = agencies.new("police")
    request_id = unique("req")
    response = police.get("/v1/notifications?after=0", headers={"X-Request-Id": request_id})
    assert response.status_code == 200
    row, data = record_of(rt, request_id)
    assert row.type == "org.coordination.access.recorded"
    assert_valid_cloudevent(cloudevents.encode(row))
    assert (row.actor_org, row.actor_client_id) == (police.org, police.client_id)
    assert data["org"] == police.org
    assert data["client_id"] == police.client_id
    assert data["action"] == "notification.list"
    assert data["resource"] == "/v1/notifications"  # no query string
    assert (data["outcome"], data["status"], data["request_id"]) == ("allowed", 200, request_id)


def test_a_request_without_token_is_recorded_as_denied(rt: Runtime, client: FlaskClient) -> None:
    request_id = unique("req")
    response = client.get("/v1/subscriptions", headers={"X-Request-Id": request_id})
    assert response.status_code == 401
    _, data = record_of(rt, request_id)
    assert (data["action"], data["outcome"], data["status"]) == ("subscription.list", "denied", 401)
    assert (data["org"], data["client_id"]) == ("", "")


def test_a_missing_scope_is_recorded_as_denied(rt: Runtime, agencies: Agencies) -> None:
    auditor = agencies.new("auditor")
    request_id = unique("req")
    assert auditor.get("/v1/subscriptions", headers={"X-Request-Id": request_id}).status_code == 403
    _, data = record_of(rt, request_id)
    assert (data["org"], data["action"], data["outcome"]) == (
        auditor.org,
        "subscription.list",
        "denied",
    )


def test_the_policys_not_found_is_recorded_with_the_resource_ids(
    rt: Runtime, agencies: Agencies
) -> None:
    police = agencies.new("police")
    missing = unique("sub")
    request_id = unique("req")
    response = police.get(f"/v1/subscriptions/{missing}", headers={"X-Request-Id": request_id})
    assert response.status_code == 404
    _, data = record_of(rt, request_id)
    assert (data["action"], data["outcome"]) == ("subscription.read", "denied")
    assert data["resource"] == f"/v1/subscriptions/{missing}"


def test_an_unrouted_path_is_recorded_without_its_text(rt: Runtime, agencies: Agencies) -> None:
    police = agencies.new("police")
    request_id = unique("req")
    response = police.get(
        "/v1/victims/Jane-Doe-010-1234-5678?email=jane@example.org",
        headers={"X-Request-Id": request_id},
    )
    assert response.status_code == 404
    row, data = record_of(rt, request_id)
    assert (data["action"], data["resource"], data["outcome"]) == ("unknown", "unrouted", "denied")
    for planted in ("Jane", "example.org", "1234"):
        assert planted not in row.data


@pytest.mark.kafka
def test_access_records_become_audit_entries(
    rt: Runtime, settings: Settings, broker: EmbeddedBroker, agencies: Agencies
) -> None:
    police = agencies.new("police")
    allowed, denied = unique("req"), unique("req")
    police.get("/v1/notifications", headers={"X-Request-Id": allowed})
    police.get(f"/v1/subscriptions/{unique('sub')}", headers={"X-Request-Id": denied})
    ids = [record_of(rt, allowed)[0].id, record_of(rt, denied)[0].id]
    kafka = with_broker(settings, broker)

    def entries() -> list[AuditEntry]:
        with rt.session_factory() as session:
            found = list(
                session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.event_id.in_(ids))
                    .order_by(AuditEntry.index)
                )
            )
            session.expunge_all()
        return found

    with running(make_relay(rt, kafka)), running(make_audit_consumer(rt, kafka, unique("audit"))):
        found = wait_for(lambda: entries() if len(entries()) == 2 else None, what="entries")
    assert [(e.request_id, e.action, e.outcome, e.org, e.client_id) for e in found] == [
        (allowed, "notification.list", "allowed", police.org, police.client_id),
        (denied, "subscription.read", "denied", police.org, police.client_id),
    ]


def test_concurrent_requests_each_leave_exactly_one_record(
    rt: Runtime, app: Flask, agencies: Agencies
) -> None:
    """Many threads at once (their records share the writer's transactions): every request's
    record is committed once, before the request is answered."""
    police = agencies.new("police")
    prefix = unique("burst")
    statuses: list[int] = []
    unrecorded: list[str] = []

    def work(n: int) -> None:
        http = app.test_client()
        for i in range(10):
            request_id = f"{prefix}-{n}-{i}"
            response = http.get(
                "/v1/notifications?after=0" if i % 2 else f"/v1/subscriptions/{unique('sub')}",
                headers={"Authorization": f"Bearer {police.token}", "X-Request-Id": request_id},
            )
            statuses.append(response.status_code)
            with rt.session_factory() as session:  # answered: so the record is already there
                if not session.scalar(
                    select(func.count()).where(OutboxMessage.request_id == request_id)
                ):
                    unrecorded.append(request_id)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(statuses)) == [200, 404]
    assert unrecorded == []
    with rt.session_factory() as session:
        counts = session.execute(
            select(OutboxMessage.request_id, func.count())
            .where(OutboxMessage.request_id.like(f"{prefix}-%"), OutboxMessage.topic == TOPIC_AUDIT)
            .group_by(OutboxMessage.request_id)
        ).all()
    assert len(counts) == 120
    assert {count for _, count in counts} == {1}


def test_a_database_failure_is_logged_and_counted_and_the_answer_still_sent(
    agencies: Agencies, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    police = agencies.new("police")
    request_id = unique("req")

    def failing(cmds: Sequence[RecordAccess], uow: Any) -> None:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(access_records, "record_accesses", failing)
    before = access_records.NOT_WRITTEN._value.get()
    with caplog.at_level(logging.ERROR, logger="coordination.access_records"):
        response = police.get("/v1/notifications?after=0", headers={"X-Request-Id": request_id})
    assert response.status_code == 200
    assert access_records.NOT_WRITTEN._value.get() == before + 1
    [logged] = [r for r in caplog.records if r.getMessage() == "access record not written"]
    assert logged.exc_info is not None
    assert "database unavailable" in str(logged.exc_info[1])


def test_a_dropped_writer_connection_loses_no_record(
    rt: Runtime, agencies: Agencies, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The server drops every connection (a restart, a failover) while the writer thread is
    alive: the next record goes through on a fresh connection, none lost and none logged."""
    if is_sqlite(database_url):
        pytest.skip("a server-side disconnect: PostgreSQL only")
    police = agencies.new("police")
    assert police.get("/v1/notifications?after=0").status_code == 200  # the writer connected
    assert terminate_backends(rt.engine, "true") >= 1
    request_id = unique("req")
    with caplog.at_level(logging.ERROR, logger="coordination.access_records"):
        response = police.get("/v1/notifications?after=0", headers={"X-Request-Id": request_id})
    assert response.status_code == 200
    assert record_of(rt, request_id)[1]["status"] == 200
    assert not [r for r in caplog.records if r.getMessage() == "access record not written"]
