"""A write request commits once: its change, its events, the answer kept for its Idempotency-Key
and its access record, in one transaction; if that commit is lost, so is all of it, the client
is told, and a retry with the same key runs the write (once)."""

import json
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from coordination.http import access_records
from coordination.runtime import Runtime
from services.access_records.commands import RecordAccess
from services.db import is_sqlite
from services.idempotency.models import DONE, IdempotencyRecord
from services.messages import TOPIC_AUDIT, TOPIC_EVENTS
from services.outbox.models import OutboxMessage
from tests.conftest import unique
from tests.support.agencies import Agencies

BODY = {"harm_types": ["sextortion"], "victim": {"age_band": "14_17"}}


def rows_of(rt: Runtime, request_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    with rt.session_factory() as session:
        rows = session.execute(
            select(OutboxMessage.topic, OutboxMessage.type, OutboxMessage.data)
            .where(OutboxMessage.request_id == request_id)
            .order_by(OutboxMessage.position)
        ).all()
    return [(topic, kind.rsplit(".", 2)[-2], json.loads(data)) for topic, kind, data in rows]


def test_a_write_its_kept_answer_and_its_access_record_share_one_commit(
    rt: Runtime, agencies: Agencies, database_url: str
) -> None:
    if is_sqlite(database_url):
        pytest.skip("transaction ids (xmin): PostgreSQL only")
    center = agencies.new("support_center")
    request_id, key = unique("req"), unique("key")
    response = center.post(
        "/v1/cases", json=BODY, headers={"X-Request-Id": request_id, "Idempotency-Key": key}
    )
    assert response.status_code == 201
    assert [(topic, kind) for topic, kind, _ in rows_of(rt, request_id)] == [
        (TOPIC_EVENTS, "case"),
        (TOPIC_AUDIT, "access"),
    ]
    with rt.engine.connect() as connection:
        outbox = connection.execute(
            text("SELECT DISTINCT xmin::text FROM outbox WHERE request_id = :r"), {"r": request_id}
        ).all()
        kept = connection.execute(
            text("SELECT xmin::text FROM idempotency_keys WHERE client_id = :c AND key = :k"),
            {"c": center.client_id, "k": key},
        ).all()
    assert len(outbox) == 1
    assert kept == outbox


def test_a_lost_commit_answers_the_failure_keeps_nothing_and_frees_the_key(
    rt: Runtime, agencies: Agencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    center = agencies.new("support_center")
    real = access_records.record_accesses
    calls: list[int] = []

    def lost_once(cmds: Sequence[RecordAccess], uow: Any) -> None:
        # The write's own record comes first: failing it fails the write's one commit.
        calls.append(len(cmds))
        if len(calls) == 1:
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        real(cmds, uow)

    monkeypatch.setattr(access_records, "record_accesses", lost_once)
    key, lost_id = unique("key"), unique("req")
    lost = center.post(
        "/v1/cases", json=BODY, headers={"Idempotency-Key": key, "X-Request-Id": lost_id}
    )
    assert lost.status_code == 503
    assert lost.content_type == "application/problem+json"
    assert "nothing was changed" in lost.json["detail"]  # type: ignore[index]
    assert not {"ETag", "Location"} & set(lost.headers.keys())
    # Nothing of the write; its access record says what the client was told.
    [(topic, kind, data)] = rows_of(rt, lost_id)
    assert (topic, kind, data["status"], data["action"]) == (
        TOPIC_AUDIT,
        "access",
        503,
        "case.create",
    )
    assert center.get("/v1/cases").json["items"] == []  # type: ignore[index]

    retry_id = unique("req")
    retry = center.post(
        "/v1/cases", json=BODY, headers={"Idempotency-Key": key, "X-Request-Id": retry_id}
    )
    assert retry.status_code == 201  # run, not refused as still running (409)
    assert "Idempotent-Replayed" not in retry.headers
    assert [kind for _, kind, _ in rows_of(rt, retry_id)] == ["case", "access"]
    assert [c["id"] for c in center.get("/v1/cases").json["items"]] == [retry.json["id"]]  # type: ignore[index]
    with rt.session_factory() as session:
        kept = session.get(IdempotencyRecord, (center.client_id, key))
        assert kept is not None
        assert (kept.state, kept.status_code) == (DONE, 201)


def test_a_refused_write_commits_only_its_kept_answer_and_access_record(
    rt: Runtime, agencies: Agencies
) -> None:
    center = agencies.new("support_center")
    case = center.post("/v1/cases", json=BODY).json
    key, request_id = unique("key"), unique("req")
    stale = center.patch(
        f"/v1/cases/{case['id']}",  # type: ignore[index]
        json={"status": "closed"},
        headers={"If-Match": '"99"', "Idempotency-Key": key, "X-Request-Id": request_id},
    )
    assert stale.status_code == 412
    [(_, kind, data)] = rows_of(rt, request_id)
    assert (kind, data["status"], data["outcome"]) == ("access", 412, "allowed")
    again = center.patch(
        f"/v1/cases/{case['id']}",  # type: ignore[index]
        json={"status": "closed"},
        headers={"If-Match": '"99"', "Idempotency-Key": key},
    )
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (412, "true")
    assert center.get(f"/v1/cases/{case['id']}").json["status"] == case["status"]  # type: ignore[index]
