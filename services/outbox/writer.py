"""Turns domain events into outbox rows, refusing any that would be too large to publish.

The unit of work writes them as plain rows in one multi-row INSERT (`insert_rows`), not as ORM
objects: building, tracking and flushing an object per event cost more than the INSERT itself.
"""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from services.actor import Actor
from services.errors import InvalidInput
from services.ids import new_id
from services.messages import EVENT_TYPE_PREFIX, DomainEvent
from services.outbox.models import OutboxMessage

MAX_EVENT_BYTES = 64 * 1024

_INSERT = insert(cast(Table, OutboxMessage.__table__))


def outbox_values(
    event: DomainEvent, now: datetime, actor: Actor, request_id: str = ""
) -> dict[str, Any]:
    """The columns of EVENT's outbox row (all but the position, which the database assigns)."""
    data = json.dumps(event.data(), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    if len(data.encode()) > MAX_EVENT_BYTES:
        # Refused at write time so the change and its event fail together, never apart.
        raise InvalidInput(f"the {event.type} event would exceed {MAX_EVENT_BYTES} bytes")
    return {
        "id": new_id(),
        "topic": event.topic,
        "key": event.key,
        "type": EVENT_TYPE_PREFIX + event.type,
        "subject": event.subject,
        "time": now,
        "data": data,
        "created_at": now,
        "actor_org": actor.org,
        "actor_client_id": actor.client_id,
        "request_id": request_id,
        "published_at": None,
        "attempts": 0,
    }


def outbox_row(
    event: DomainEvent, now: datetime, actor: Actor, request_id: str = ""
) -> OutboxMessage:
    """EVENT's outbox row as an (unsaved) ORM object."""
    return OutboxMessage(**outbox_values(event, now, actor, request_id))


def insert_rows(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """ROWS (from `outbox_values`) in SESSION's transaction, in their order (their positions
    follow it): one INSERT statement, many rows."""
    if rows:
        session.execute(_INSERT, list(rows))
