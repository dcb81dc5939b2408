"""Structured-mode CloudEvents 1.0 (`application/cloudevents+json`): outbox rows in, events out.

The `data` of an outbox row is already canonical JSON; it is embedded as it is. Extension
attributes (`actororg`, `actorclientid`, `requestid`) say who caused the event and in which
request: the audit consumer needs them, and they are ids, never personal data.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from services.messages import EVENT_TYPE_PREFIX

SPECVERSION = "1.0"
SOURCE = "/coordination"
CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class OutboxRecord(Protocol):
    """What `encode` reads of an outbox row: an `OutboxMessage`, or a plain row of its columns
    (the relay reads those, without the ORM's per-object cost)."""

    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def time(self) -> datetime: ...
    @property
    def subject(self) -> str: ...
    @property
    def data(self) -> str: ...
    @property
    def actor_org(self) -> str: ...
    @property
    def actor_client_id(self) -> str: ...
    @property
    def request_id(self) -> str: ...


def encode(row: OutboxRecord) -> bytes:
    """The CloudEvent of one outbox row, as the bytes of a Kafka record value."""
    head = {
        "specversion": SPECVERSION,
        "id": row.id,
        "source": SOURCE,
        "type": row.type,
        "time": format_time(row.time),
        "subject": row.subject,
        "datacontenttype": DATA_CONTENT_TYPE,
        "actororg": row.actor_org,
        "actorclientid": row.actor_client_id,
        "requestid": row.request_id,
    }
    # `data` is spliced in as stored, so the bytes on Kafka are the bytes that were committed.
    return (json.dumps(head, separators=(",", ":"))[:-1] + ',"data":' + row.data + "}").encode()


class MalformedEvent(ValueError):
    """A record that is not a CloudEvent of ours; it goes to the dead-letter topic."""


@dataclass(frozen=True)
class ReceivedEvent:
    """A CloudEvent read back from Kafka."""

    id: str
    type: str  # short form, without `org.coordination.`
    time: datetime
    subject: str
    data: dict[str, Any] = field(default_factory=dict)
    actor_org: str = ""
    actor_client_id: str = ""
    request_id: str = ""

    @property
    def case_id(self) -> str | None:
        value = self.data.get("case_id")
        return value if isinstance(value, str) and value else None


def decode(value: bytes | None) -> ReceivedEvent:
    try:
        event = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError):
        raise MalformedEvent("not JSON") from None
    if not isinstance(event, dict) or event.get("specversion") != SPECVERSION:
        raise MalformedEvent("not a CloudEvent 1.0")
    full_type, event_id, data = event.get("type"), event.get("id"), event.get("data")
    if not isinstance(full_type, str) or not full_type.startswith(EVENT_TYPE_PREFIX):
        raise MalformedEvent("unknown event type")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 36:
        raise MalformedEvent("bad event id")
    if not isinstance(data, dict):
        raise MalformedEvent("data is not an object")
    try:
        time = datetime.fromisoformat(str(event.get("time")))
    except ValueError:
        raise MalformedEvent("bad time") from None
    if time.tzinfo is None:
        raise MalformedEvent("time without a zone")
    return ReceivedEvent(
        id=event_id,
        type=full_type.removeprefix(EVENT_TYPE_PREFIX),
        time=time.astimezone(UTC),
        subject=str(event.get("subject") or ""),
        data=data,
        actor_org=str(event.get("actororg") or ""),
        actor_client_id=str(event.get("actorclientid") or ""),
        request_id=str(event.get("requestid") or ""),
    )
