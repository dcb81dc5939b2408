"""Time to removal per referral (issue 7): kept on the referral's clock row the moment its
receiver reports `removed`, by a session hook in the same transaction as that update."""

from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, UOWTransaction

from services.monitoring.models import ReferralClock
from services.referrals.models import REMOVED_CODE, Referral


def seconds_between(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


@event.listens_for(Session, "after_flush")
def record_removal_times(session: Session, _context: UOWTransaction) -> None:
    rows: list[dict[str, Any]] = []
    for obj in session.dirty:
        if not isinstance(obj, Referral) or obj.business_status != REMOVED_CODE:
            continue
        if not inspect(obj).attrs.business_status.history.has_changes() or obj.sent_at is None:
            continue
        removed_at = obj.updated_at
        rows.append(
            {
                "referral_id": obj.id,
                "due_at": obj.due_at,
                "sent_at": obj.sent_at,
                "removed_at": removed_at,
                "seconds_to_removal": seconds_between(obj.sent_at, removed_at),
            }
        )
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for row in rows:
        stmt = insert(ReferralClock).values(**row)
        upsert = stmt.on_conflict_do_update(
            index_elements=[ReferralClock.referral_id],
            set_={
                "removed_at": stmt.excluded.removed_at,
                "seconds_to_removal": stmt.excluded.seconds_to_removal,
                "sent_at": stmt.excluded.sent_at,
            },
            where=ReferralClock.removed_at.is_(None),  # the first report of removal counts
        )
        session.connection().execute(upsert)
