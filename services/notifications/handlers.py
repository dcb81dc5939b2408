"""Use cases of notifications: turning an event into per-org notifications (the notification
consumer calls it), and managing webhook subscriptions (the API calls those)."""

import base64
import json
import secrets
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
    """The notifications one event causes, each numbered next in its org's feed, and a webhook
    delivery per matching subscription. Returns the events announcing them."""
    announced: list[NotificationCreated] = []
    for org in recipients(event.type, event.data, event.actor_org):
        exists = session.scalar(
            select(Notification.id).where(
                Notification.org == org, Notification.event_id == event.id
            )
        )
        if exists is not None:
            continue
        notification = Notification(
            id=new_id(),
            org=org,
            seq=repository.next_seq(session, org),
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
        for subscription in repository.subscriptions_of(session, org):
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
