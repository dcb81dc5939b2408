from sqlalchemy import select
from sqlalchemy.orm import Session

from services.referrals.models import Referral
from services.referrals.queries import visible_referral


def get_visible_for_update(session: Session, org: str, referral_id: str) -> Referral | None:
    """The referral, locked for the rest of the transaction, if `org` may see it."""
    return session.scalars(
        select(Referral).where(Referral.id == referral_id, visible_referral(org)).with_for_update()
    ).one_or_none()


def get(session: Session, referral_id: str) -> Referral | None:
    return session.get(Referral, referral_id)


def add(session: Session, referral: Referral) -> None:
    session.add(referral)
