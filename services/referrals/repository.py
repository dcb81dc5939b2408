from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from services.referrals.models import Referral, ReferralUpdate

_INSERT_UPDATE = insert(cast(Table, ReferralUpdate.__table__))
_UPDATE_COLUMNS = tuple(column.key for column in cast(Table, ReferralUpdate.__table__).columns)


def get(session: Session, referral_id: str) -> Referral | None:
    return session.get(Referral, referral_id)


def add(session: Session, referral: Referral) -> None:
    session.add(referral)


def add_update(session: Session, update: ReferralUpdate) -> None:
    """UPDATE's row, written at once as a plain row: an update is never changed once written, so
    the session has nothing to track (it stays a plain object), and the flush has one less
    object to sort, compare and write. The session's pending changes are flushed first."""
    session.execute(_INSERT_UPDATE, {key: getattr(update, key) for key in _UPDATE_COLUMNS})
