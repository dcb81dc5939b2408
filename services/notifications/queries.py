"""Reading notifications and subscriptions: always those of the asking org only."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.actor import Actor
from services.errors import NotFound
from services.notifications import repository
from services.notifications.models import Delivery, Notification, NotificationFeed, Subscription

RECENT_DELIVERIES = 20


def notifications_after(
    session: Session, actor: Actor, after: int, limit: int
) -> tuple[list[Notification], int]:
    """The org's notifications with `seq > after`, oldest first, and the feed's last `seq`."""
    items = list(
        session.scalars(
            select(Notification)
            .where(Notification.org == actor.org, Notification.seq > after)
            .order_by(Notification.seq)
            .limit(limit)
        )
    )
    last = session.scalar(
        select(NotificationFeed.last_seq).where(NotificationFeed.org == actor.org)
    )
    return items, int(last or 0)


def list_subscriptions(session: Session, actor: Actor) -> list[Subscription]:
    return sorted(repository.subscriptions_of(session, actor.org), key=lambda s: s.id)


def get_subscription(session: Session, actor: Actor, subscription_id: str) -> Subscription:
    found = repository.get_subscription(session, actor.org, subscription_id)
    if found is None:
        raise NotFound("no such subscription")
    return found


def recent_deliveries(session: Session, subscription_id: str) -> list[Delivery]:
    return list(
        session.scalars(
            select(Delivery)
            .where(Delivery.subscription_id == subscription_id)
            .order_by(Delivery.created_at.desc(), Delivery.seq.desc())
            .limit(RECENT_DELIVERIES)
        )
    )
