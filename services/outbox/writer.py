"""Turns domain events into outbox rows, refusing any that would be too large to publish."""

import json
from datetime import datetime

from services.actor import Actor
from services.errors import InvalidInput
from services.ids import new_id
from services.messages import EVENT_TYPE_PREFIX, DomainEvent
from services.outbox.models import OutboxMessage

MAX_EVENT_BYTES = 64 * 1024


def outbox_row(
    event: DomainEvent, now: datetime, actor: Actor, request_id: str = ""
) -> OutboxMessage:
    data = json.dumps(event.data(), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    if len(data.encode()) > MAX_EVENT_BYTES:
        # Refused at write time so the change and its event fail together, never apart.
        raise InvalidInput(f"the {event.type} event would exceed {MAX_EVENT_BYTES} bytes")
    return OutboxMessage(
        id=new_id(),
        topic=event.topic,
        key=event.key,
        type=EVENT_TYPE_PREFIX + event.type,
        subject=event.subject,
        time=now,
        data=data,
        created_at=now,
        actor_org=actor.org,
        actor_client_id=actor.client_id,
        request_id=request_id,
    )
