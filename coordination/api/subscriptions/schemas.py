"""Wire shapes of webhook subscriptions. The secret is shown once, in the creation answer."""

from typing import Any

from marshmallow import Schema, fields, validate

from services.notifications.models import Delivery, Subscription
from services.notifications.rules import NOTIFICATION_TYPES


class SubscriptionIn(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    event_types = fields.List(
        fields.String(validate=validate.OneOf(NOTIFICATION_TYPES)),
        required=True,
        validate=validate.Length(min=1, max=len(NOTIFICATION_TYPES)),
    )
    secret = fields.String(load_default=None, validate=validate.Length(max=128))


def _time(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def subscription_json(
    subscription: Subscription,
    *,
    with_secret: bool = False,
    deliveries: list[Delivery] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": subscription.id,
        "url": subscription.url,
        "event_types": subscription.event_types,
        "created_at": _time(subscription.created_at),
    }
    if with_secret:
        body["secret"] = subscription.secret
    if deliveries is not None:
        body["recent_deliveries"] = [delivery_json(d) for d in deliveries]
    return body


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "seq": delivery.seq,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "last_attempt_at": _time(delivery.last_attempt_at),
        "next_attempt_at": _time(delivery.next_attempt_at)
        if delivery.status == "pending"
        else None,
        "delivered_at": _time(delivery.delivered_at),
        "created_at": _time(delivery.created_at),
    }
