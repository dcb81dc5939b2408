"""Idempotency keys: the first answer to a write is kept 24 h and replayed for the same request.

A key belongs to one client. Claiming it is its own short transaction, committed before the
write runs, so a second request with the same key sees it at once:

* no row (or an expired one): the key is claimed (`in_flight`) and the write goes ahead;
* `in_flight`: the first request is still running: `Conflict` (409), unless it was abandoned
  (older than `IN_FLIGHT_LEASE`, e.g. a crashed worker), when it is claimed again;
* `done` with the same request hash: the stored answer is replayed;
* any other request hash: `InvalidInput` (422).

Answers of 5xx are not kept (the key is released), so a client may retry after an outage.
The answer is kept (or the key released) in the transaction of the write itself when the caller
passes a unit of work that joins it: then a write is never committed without its kept answer.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from services.errors import Conflict, InvalidInput
from services.idempotency.models import DONE, IN_FLIGHT, IdempotencyRecord
from services.unit_of_work import UnitOfWork

RETENTION = timedelta(hours=24)
IN_FLIGHT_LEASE = timedelta(minutes=2)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: str
    headers: dict[str, str]


def request_hash(method: str, path: str, body: bytes) -> str:
    """The same JSON body in other whitespace or key order is the same request."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            "the Idempotency-Key must be 1 to 255 printable ASCII characters",
            errors={"Idempotency-Key": ["1 to 255 printable ASCII characters"]},
        )


def claim_key(uow: UnitOfWork, client_id: str, key: str, req_hash: str) -> StoredResponse | None:
    """Claim `key` for this request; returns the stored answer to replay, if there is one."""
    check_key(key)
    with uow:
        now = uow.clock.now()
        # Housekeeping as we go: the client's keys past their 24 h are forgotten.
        uow.session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.client_id == client_id, IdempotencyRecord.expires_at <= now
            )
        )
        record = uow.session.get(IdempotencyRecord, (client_id, key), with_for_update=True)
        if record is not None and record.expires_at <= now:
            uow.session.delete(record)
            uow.session.flush()
            record = None
        if record is None:
            uow.session.add(
                IdempotencyRecord(
                    client_id=client_id,
                    key=key,
                    request_hash=req_hash,
                    state=IN_FLIGHT,
                    created_at=now,
                    expires_at=now + RETENTION,
                )
            )
            try:
                uow.commit()
            except IntegrityError:
                # Another request claimed it between our read and our insert.
                raise Conflict(
                    "a request with this Idempotency-Key is still being processed"
                ) from None
            return None
        if record.request_hash != req_hash:
            raise InvalidInput(
                "this Idempotency-Key was used with another request",
                errors={"Idempotency-Key": ["already used with a different request"]},
            )
        if record.state == IN_FLIGHT:
            if record.created_at + IN_FLIGHT_LEASE > now:
                raise Conflict("a request with this Idempotency-Key is still being processed")
            record.created_at = now  # abandoned: take it over
            uow.commit()
            return None
        return StoredResponse(
            status_code=record.status_code or 200,
            body=record.response_body or "",
            headers=json.loads(record.response_headers or "{}"),
        )


def complete_key(uow: UnitOfWork, client_id: str, key: str, response: StoredResponse) -> None:
    with uow:
        record = uow.session.get(IdempotencyRecord, (client_id, key))
        if record is not None:  # else purged mid-request: nothing to keep
            record.state = DONE
            record.status_code = response.status_code
            record.response_body = response.body
            record.response_headers = json.dumps(response.headers, sort_keys=True)
        # Even with nothing to keep: in a shared transaction, ending without it rolls back.
        uow.commit()


def release_key(uow: UnitOfWork, client_id: str, key: str) -> None:
    """Forget an in-flight claim whose request failed, so the client may retry with it."""
    with uow:
        uow.session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.client_id == client_id,
                IdempotencyRecord.key == key,
                IdempotencyRecord.state == IN_FLIGHT,
            )
        )
        uow.commit()


def purge_expired(uow: UnitOfWork) -> int:
    """Delete keys past their 24 hours; returns how many."""
    with uow:
        now = uow.clock.now()
        expired = list(
            uow.session.scalars(
                select(IdempotencyRecord.key).where(IdempotencyRecord.expires_at <= now)
            )
        )
        uow.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now))
        uow.commit()
        return len(expired)
