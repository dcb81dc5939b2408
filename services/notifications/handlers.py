"""Use cases of notifications: turning an event into per-org notifications (the notification
consumer calls it), and managing webhook subscriptions (the API calls those)."""

import base64
import json
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import String, insert, select
from sqlalchemy.orm import Session

from services.actor import Actor
from services.db import one_of
from services.errors import InvalidInput, NotFound
from services.ids import new_id
from services.notifications import repository
from services.notifications.commands import CreateSubscription, DeleteSubscription, EventReceived
from services.notifications.events import NotificationCreated
from services.notifications.models import Delivery, Notification, Subscription
from services.notifications.rules import NOTIFICATION_TYPES, recipients
from services.unit_of_work import UnitOfWork

MAX_SUBSCRIPTIONS_PER_ORG = 20


def notify(session: Session, event: EventReceived, now: datetime) -> list[NotificationCreated]:
    """The notifications one event causes (see `notify_all`)."""
    return notify_all(session, [event], now)


def notify_all(
    session: Session, events: Sequence[EventReceived], now: datetime
) -> list[NotificationCreated]:
    """The notifications some events cause, each numbered next in its org's feed (gap-free:
    the feed heads are locked for the transaction), and a webhook delivery per matching
    subscription. Returns the events announcing them.

    A handful of statements per batch, whatever its size: the consumer's throughput and its
    commit-to-notification latency are set by them. Rows go in as plain Core inserts; ORM
    objects would cost more than everything else here."""
    wanted = [
        (event, org)
        for event in events
        for org in recipients(event.type, event.data, event.actor_org)
    ]
    if not wanted:
        return []
    orgs = sorted({org for _, org in wanted})
    told = {
        (org, event_id)
        for org, event_id in session.execute(
            select(Notification.org, Notification.event_id).where(
                one_of(session, Notification.org, orgs, String),
                one_of(session, Notification.event_id, list({e.id for e, _ in wanted}), String),
            )
        )
    }
    fresh = []
    for event, org in wanted:
        if (org, event.id) not in told:  # one event tells one org once, however often replayed
            told.add((org, event.id))
            fresh.append((event, org))
    if not fresh:  # a replay: nothing to number, and no subscriptions to read
        return []
    next_seq = repository.allocate_seqs(session, Counter(org for _, org in fresh))
    subscriptions: dict[str, list[Subscription]] = {}
    for subscription in session.scalars(
        select(Subscription).where(one_of(session, Subscription.org, list(next_seq), String))
    ):
        subscriptions.setdefault(subscription.org, []).append(subscription)
    notifications: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    for event, org in fresh:
        row = {
            "id": new_id(),
            "org": org,
            "seq": next_seq[org],
            "type": event.type,
            "event_id": event.id,
            **{name: _id(event.data, name) for name in REFERENCED},
            "created_at": now,
        }
        next_seq[org] += 1
        notifications.append(row)
        wanting = [s for s in subscriptions.get(org, ()) if s.wants(event.type)]
        body = webhook_body(row) if wanting else ""
        deliveries.extend(
            {
                "id": new_id(),
                "subscription_id": subscription.id,
                "org": org,
                "seq": row["seq"],
                "event_type": event.type,
                "payload": body,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for subscription in wanting
        )
    if notifications:
        session.execute(insert(Notification), notifications)
    if deliveries:
        session.execute(insert(Delivery), deliveries)
    return [
        NotificationCreated(
            subject=row["id"],
            case_id=row["case_id"] or "",
            org=row["org"],
            seq=row["seq"],
            notification_type=row["type"],
            event_id=row["event_id"],
            referral_id=row["referral_id"],
            content_id=row["content_id"],
            status=row["status"],
            business_status=row["business_status"],
        )
        for row in notifications
    ]


#: The ids and codes a notification copies from its event's data (never anything else).
REFERENCED = ("case_id", "referral_id", "content_id", "status", "business_status")
#: What a notification says, in the API and in webhook bodies.
PUBLIC = ("id", "seq", "type", "event_id", *REFERENCED)


def notification_json(notification: Notification | Mapping[str, Any]) -> dict[str, Any]:
    """A notification (a stored one, or a row about to be inserted) as the API shows it."""
    row = (
        notification
        if isinstance(notification, Mapping)
        else {name: getattr(notification, name) for name in (*PUBLIC, "created_at")}
    )
    created_at: datetime = row["created_at"]
    return {
        **{name: row[name] for name in PUBLIC},
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
    }


def webhook_body(row: Mapping[str, Any]) -> str:
    """The Standard Webhooks payload: `type`, `timestamp`, `data` (ids, codes and `seq`)."""
    data = notification_json(row)
    return json.dumps(
        {"type": row["type"], "timestamp": data["created_at"], "data": {"org": row["org"], **data}},
        separators=(",", ":"),
    )


def create_subscription(cmd: CreateSubscription, uow: UnitOfWork, actor: Actor) -> Subscription:
    errors: dict[str, list[str]] = {}
    url = urlsplit(cmd.url)
    if url.scheme not in ("http", "https") or not url.netloc or url.username or url.password:
        errors["url"] = ["expected an http(s) URL without credentials"]
    unknown = sorted(set(cmd.event_types) - set(NOTIFICATION_TYPES))
    if not cmd.event_types or unknown:
        errors["event_types"] = [f"expected a non-empty subset of {', '.join(NOTIFICATION_TYPES)}"]
    secret = cmd.secret or "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    if not _valid_secret(secret):
        errors["secret"] = ["expected whsec_ followed by base64 of 24 to 64 bytes"]
    if errors:
        raise InvalidInput("the subscription is not valid", errors=errors)
    with uow:
        if repository.count_subscriptions(uow.session, actor.org) >= MAX_SUBSCRIPTIONS_PER_ORG:
            raise InvalidInput(f"an org may hold at most {MAX_SUBSCRIPTIONS_PER_ORG} subscriptions")
        subscription = Subscription(
            id=new_id(),
            org=actor.org,
            url=cmd.url,
            event_types_json=json.dumps(sorted(set(cmd.event_types))),
            secret=secret,
            created_at=uow.clock.now(),
        )
        uow.session.add(subscription)
        uow.commit()
        uow.session.refresh(subscription)
        uow.session.expunge(subscription)
    return subscription


def delete_subscription(cmd: DeleteSubscription, uow: UnitOfWork, actor: Actor) -> None:
    with uow:
        subscription = repository.get_subscription(uow.session, actor.org, cmd.subscription_id)
        if subscription is None:
            raise NotFound("no such subscription")
        uow.session.delete(subscription)
        uow.commit()


def _valid_secret(secret: str) -> bool:
    if not secret.startswith("whsec_"):
        return False
    try:
        raw = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError:
        return False
    return 24 <= len(raw) <= 64


def _id(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value[:64] if isinstance(value, str) and value else None
