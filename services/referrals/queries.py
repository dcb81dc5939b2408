"""Reads of referrals and their updates, always through the access policy: the same filter
serves lists and single reads, so a list can never show what a read by id would hide."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.access import policy
from services.actor import Actor
from services.pagination import Page, PageRequest, paginate
from services.referrals.models import WORKING_STATUSES, Referral, ReferralUpdate


@dataclass(frozen=True)
class ReferralFilter:
    direction: str | None = None  # inbox (addressed to the actor) or outbox (sent by it)
    status: str | None = None
    type: str | None = None
    case_id: str | None = None


def get_referral(session: Session, actor: Actor, referral_id: str) -> Referral:
    return policy.visible_referral(session, actor, referral_id)


def list_referrals(
    session: Session, actor: Actor, filters: ReferralFilter, page: PageRequest
) -> Page[Referral]:
    stmt = select(Referral).where(policy.referral_filter(actor))
    if filters.direction == "inbox":
        stmt = stmt.where(Referral.to_org == actor.org)
    elif filters.direction == "outbox":
        stmt = stmt.where(Referral.from_org == actor.org)
    if filters.status is not None:
        stmt = stmt.where(Referral.status == filters.status)
    if filters.type is not None:
        stmt = stmt.where(Referral.type == filters.type)
    if filters.case_id is not None:
        stmt = stmt.where(Referral.case_id == filters.case_id)
    return paginate(session, stmt, Referral.id.expression, page)


def list_updates(
    session: Session, actor: Actor, referral_id: str, page: PageRequest
) -> Page[ReferralUpdate]:
    """Both sides see every update, oldest first, in the referral's own sequence."""
    policy.visible_referral(session, actor, referral_id)
    stmt = select(ReferralUpdate).where(ReferralUpdate.referral_id == referral_id)
    if page.after is not None:
        stmt = stmt.where(ReferralUpdate.seq > (int(page.after) if page.after.isdigit() else 0))
    rows = list(session.scalars(stmt.order_by(ReferralUpdate.seq).limit(page.limit + 1)))
    if len(rows) <= page.limit:
        return Page(rows, None)
    return Page(rows[: page.limit], str(rows[page.limit - 1].seq))


def accepted_referral_of(
    session: Session, org: str, case_id: str, types: Sequence[str]
) -> Referral | None:
    """The latest referral of one of `types` addressed to `org` for the case that it took on."""
    return session.scalars(
        select(Referral)
        .where(
            Referral.case_id == case_id,
            Referral.to_org == org,
            Referral.type.in_(types),
            Referral.status.in_(sorted(WORKING_STATUSES - {"failed"})),
        )
        .order_by(Referral.id.desc())
        .limit(1)
    ).first()
