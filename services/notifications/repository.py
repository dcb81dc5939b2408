from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.consumers.models import ProcessedEvent
from services.notifications.models import NotificationFeed, Subscription


def get_subscription(session: Session, org: str, subscription_id: str) -> Subscription | None:
    found = session.get(Subscription, subscription_id)
    return found if found is not None and found.org == org else None


def subscriptions_of(session: Session, org: str) -> list[Subscription]:
    return list(session.scalars(select(Subscription).where(Subscription.org == org)))


def count_subscriptions(session: Session, org: str) -> int:
    return len(subscriptions_of(session, org))


def next_seq(session: Session, org: str) -> int:
    """Hand out the org's next `seq`. The row lock (or SQLite's write lock) makes it gap-free."""
    bumped = session.execute(
        update(NotificationFeed)
        .where(NotificationFeed.org == org)
        .values(last_seq=NotificationFeed.last_seq + 1)
        .returning(NotificationFeed.last_seq)
    ).scalar_one_or_none()
    if bumped is not None:
        return int(bumped)
    session.add(NotificationFeed(org=org, last_seq=1))
    session.flush()
    return 1


def already_processed(session: Session, consumer: str, event_id: str) -> bool:
    return session.get(ProcessedEvent, (consumer, event_id)) is not None


def lock_feeds(session: Session, orgs: list[str]) -> dict[str, NotificationFeed]:
    """The feed heads of `orgs`, created when missing, locked until the transaction ends (in a
    stable order, so two consumers cannot deadlock; SQLite's write lock does the same)."""
    for org in orgs:
        if session.get(NotificationFeed, org) is None:
            session.add(NotificationFeed(org=org, last_seq=0))
    session.flush()
    return {
        feed.org: feed
        for feed in session.scalars(
            select(NotificationFeed)
            .where(NotificationFeed.org.in_(orgs))
            .order_by(NotificationFeed.org)
            .with_for_update()
            # Read again under the lock: a head loaded before it may be stale.
            .execution_options(populate_existing=True)
        )
    }
