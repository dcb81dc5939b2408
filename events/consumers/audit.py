"""The audit consumer: one audit entry per domain event and per access record.

Entries are appended through `services.audit.log.append_entries` (gap-free index, leaf hash,
Merkle nodes) in the consumer's batch transaction, with its offsets and dedupe rows.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from events.cloudevents import ReceivedEvent
from events.consumers.base import StreamConsumer
from services.audit.log import EntryDraft, append_entries
from services.messages import TOPIC_AUDIT, TOPIC_EVENTS, DomainEvent

ACCESS_TYPE = "access.recorded"
RESOURCE_MAX = 120


class AuditConsumer(StreamConsumer):
    name = "audit"
    topics = (TOPIC_EVENTS, TOPIC_AUDIT)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._drafts: list[EntryDraft] = []

    def apply(self, session: Session, event: ReceivedEvent, topic: str) -> Sequence[DomainEvent]:
        # Collected, then appended once per batch: one tree lock and one border read per poll.
        self._drafts.append(entry_draft(event))
        return ()

    def start_batch(self) -> None:
        self._drafts = []

    def finish_batch(self, session: Session) -> Sequence[DomainEvent]:
        drafts, self._drafts = self._drafts, []
        append_entries(session, drafts)
        return ()


def entry_draft(event: ReceivedEvent) -> EntryDraft:
    data = event.data
    if event.type == ACCESS_TYPE:
        return EntryDraft(
            at=event.time,
            org=_text(data, "org"),
            client_id=_text(data, "client_id"),
            action=_text(data, "action") or "unknown",
            resource=_text(data, "resource")[:RESOURCE_MAX],
            outcome="denied" if data.get("outcome") == "denied" else "allowed",
            request_id=_text(data, "request_id"),
            case_id=event.case_id,
            event_id=event.id,
        )
    return EntryDraft(
        at=event.time,
        org=event.actor_org,
        client_id=event.actor_client_id,
        action=event.type,
        resource=_resource(event)[:RESOURCE_MAX],
        outcome="allowed",
        request_id=event.request_id,
        case_id=event.case_id,
        event_id=event.id,
    )


def _resource(event: ReceivedEvent) -> str:
    """`<kind>/<subject>`, e.g. `referral/0193...`: the thing the event is about, by id only."""
    kind = event.type.partition(".")[0]
    return f"{kind}/{event.subject}"


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""
