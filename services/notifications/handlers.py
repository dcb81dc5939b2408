"""Use cases of notifications: turning an event into per-org notifications (the notification
consumer calls it), and managing webhook subscriptions (the API calls those)."""

import base64
import json
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.actor import Actor
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
    the feed rows are locked for the transaction), and a webhook delivery per matching
    subscription. Returns the events announcing them. A few queries per batch, not per event."""
    wanted = [
        (event, org)
        for event in events
        for org in recipients(event.type, event.data, event.actor_org)
    ]
    if not wanted:
        return []
    orgs = sorted({org for _, org in wanted})
    known = {
        (org, event_id)
        for org, event_id in session.execute(
            select(Notification.org, Notification.event_id).where(
                Notification.org.in_(orgs),
                Notification.event_id.in_({event.id for event, _ in wanted}),
            )
        )
    }
    feeds = repository.lock_feeds(session, orgs)
    subscriptions: dict[str, list[Subscription]] = {org: [] for org in orgs}
    for subscription in session.scalars(select(Subscription).where(Subscription.org.in_(orgs))):
        subscriptions[subscription.org].append(subscription)
    announced: list[NotificationCreated] = []
    for event, org in wanted:
        if (org, event.id) in known:
            continue
        known.add((org, event.id))
        feeds[org].last_seq += 1
        notification = Notification(
            id=new_id(),
            org=org,
            seq=feeds[org].last_seq,
            type=event.type,
            event_id=event.id,
            case_id=_id(event.data, "case_id"),
            referral_id=_id(event.data, "referral_id"),
            content_id=_id(event.data, "content_id"),
            status=_id(event.data, "status"),
            business_status=_id(event.data, "business_status"),
            created_at=now,
        )
        session.add(notification)
        body = webhook_body(notification)
        for subscription in subscriptions[org]:
            if subscription.wants(notification.type):
                session.add(
                    Delivery(
                        id=new_id(),
                        subscription_id=subscription.id,
                        org=org,
                        seq=notification.seq,
                        event_type=notification.type,
                        payload=body,
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        announced.append(
            NotificationCreated(
                subject=notification.id,
                case_id=notification.case_id or "",
                org=org,
                seq=notification.seq,
                notification_type=notification.type,
                event_id=event.id,
                referral_id=notification.referral_id,
                content_id=notification.content_id,
                status=notification.status,
                business_status=notification.business_status,
            )
        )
    session.flush()
    return announced


def notification_json(notification: Notification) -> dict[str, Any]:
    return {
        "id": notification.id,
        "seq": notification.seq,
        "type": notification.type,
        "event_id": notification.event_id,
        "case_id": notification.case_id,
        "referral_id": notification.referral_id,
        "content_id": notification.content_id,
        "status": notification.status,
        "business_status": notification.business_status,
        "created_at": notification.created_at.isoformat().replace("+00:00", "Z"),
    }


def webhook_body(notification: Notification) -> str:
    """The Standard Webhooks payload: `type`, `timestamp`, `data` (ids, codes and `seq`)."""
    return json.dumps(
        {
            "type": notification.type,
            "timestamp": notification.created_at.isoformat().replace("+00:00", "Z"),
            "data": {"org": notification.org, **notification_json(notification)},
        },
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
