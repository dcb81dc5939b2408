from sqlalchemy.orm import Session

from services.referrals.models import Referral


def get(session: Session, referral_id: str) -> Referral | None:
    return session.get(Referral, referral_id)


def add(session: Session, referral: Referral) -> None:
    session.add(referral)
