from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.db import dialect_insert
from services.notifications.models import NotificationFeed, Subscription


def get_subscription(session: Session, org: str, subscription_id: str) -> Subscription | None:
    found = session.get(Subscription, subscription_id)
    return found if found is not None and found.org == org else None


def subscriptions_of(session: Session, org: str) -> list[Subscription]:
    return list(session.scalars(select(Subscription).where(Subscription.org == org)))


def count_subscriptions(session: Session, org: str) -> int:
    return len(subscriptions_of(session, org))


def allocate_seqs(session: Session, counts: Mapping[str, int]) -> dict[str, int]:
    """Reserve `counts[org]` consecutive `seq`s in each org's feed; returns each org's first.

    One upsert for all the orgs: it creates a missing feed head, and locks every head until
    the transaction ends, so the numbers stay gap-free and no two transactions share one. The
    rows are written in a stable order, so two consumers cannot deadlock (SQLite's write lock
    does the same)."""
    if not counts:
        return {}
    upsert = dialect_insert(session, NotificationFeed)
    feeds = NotificationFeed.__table__
    # One statement holding every org's row (not an executemany), so RETURNING yields them all.
    rows = session.execute(
        upsert.values([{"org": org, "last_seq": counts[org]} for org in sorted(counts)])
        .on_conflict_do_update(
            index_elements=[feeds.c.org],
            set_={"last_seq": feeds.c.last_seq + upsert.excluded.last_seq},
        )
        .returning(feeds.c.org, feeds.c.last_seq)
    )
    return {org: int(last_seq) - counts[org] + 1 for org, last_seq in rows}
