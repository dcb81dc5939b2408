"""Reads of referrals and their updates, always through who may see them.

An org sees a referral it sent (drafts included) and one addressed to it once it was sent.
Its receiver sees the case, and the content items it shares, while the referral is addressed
and not withdrawn (`SHARING_STATUSES`); the same clauses filter lists and single reads, so a
list can never show what a read by id would hide.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import Session

from services.actor import Actor
from services.cases.models import Case
from services.errors import NotFound
from services.referrals.models import SHARING_STATUSES, Referral, ReferralContent, ReferralUpdate

T = TypeVar("T")

MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; `next_after` is the sort key to continue after, None at the end."""

    items: list[T]
    next_after: str | None


def paginate(
    session: Session, stmt: Select[T], key: Any, after: str | None, limit: int
) -> Page[T]:
    """Keyset pagination over a unique, ordered key (a UUIDv7 id, or a zero-padded sequence)."""
    limit = max(1, min(limit, MAX_LIMIT))
    if after is not None:
        stmt = stmt.where(key > after)
    rows = list(session.scalars(stmt.order_by(key).limit(limit + 1)))
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, str(getattr(rows[-1], key.key)))


# ---- visibility ---------------------------------------------------------------------------


def shares_with(org: str) -> ColumnElement[bool]:
    """Referrals through which `org`, their receiver, currently sees a case."""
    return and_(Referral.to_org == org, Referral.status.in_(SHARING_STATUSES))


def visible_referral(org: str) -> ColumnElement[bool]:
    """Referrals `org` may read: those it sent, and those addressed to it once sent."""
    return or_(Referral.from_org == org, and_(Referral.to_org == org, Referral.status != "draft"))


def sees_case_through_referral(session: Session, org: str, case_id: str) -> bool:
    return bool(
        session.scalar(select(exists().where(Referral.case_id == case_id, shares_with(org))))
    )


def shared_content_clause(org: str, content_id_column: Any) -> ColumnElement[bool]:
    """A content item `org` sees because a live referral addressed to it shares it."""
    return exists(
        select(ReferralContent.content_id)
        .join(Referral, Referral.id == ReferralContent.referral_id)
        .where(ReferralContent.content_id == content_id_column, shares_with(org))
    )


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
            Referral.status.in_(("accepted", "in_progress", "on_hold", "completed")),
        )
        .order_by(Referral.id.desc())
        .limit(1)
    ).first()


OWNER = "owner"
RECEIVER = "receiver"


def case_role(session: Session, actor: Actor, case_id: str) -> tuple[Case, str]:
    """The case and how the actor sees it (its owner, or a receiver of a live referral).

    An org that does not see the case gets NotFound, exactly as if it did not exist.
    """
    case = session.get(Case, case_id)
    if case is not None:
        if case.owner_org == actor.org:
            return case, OWNER
        if sees_case_through_referral(session, actor.org, case_id):
            return case, RECEIVER
    raise NotFound("no such case")


# ---- reads --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralFilter:
    direction: str | None = None  # inbox or outbox
    status: str | None = None
    type: str | None = None
    case_id: str | None = None


def get_referral(session: Session, actor: Actor, referral_id: str) -> Referral:
    referral = session.scalars(
        select(Referral).where(Referral.id == referral_id, visible_referral(actor.org))
    ).one_or_none()
    if referral is None:
        raise NotFound("no such referral")
    return referral


def list_referrals(
    session: Session, actor: Actor, filters: ReferralFilter, after: str | None, limit: int
) -> Page[Referral]:
    stmt = select(Referral).where(visible_referral(actor.org))
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
    return paginate(session, stmt, Referral.id, after, limit)


def list_updates(
    session: Session, actor: Actor, referral_id: str, after: str | None, limit: int
) -> Page[ReferralUpdate]:
    """Both sides see every update, oldest first (by the referral's own sequence)."""
    get_referral(session, actor, referral_id)
    limit = max(1, min(limit, MAX_LIMIT))
    stmt = select(ReferralUpdate).where(ReferralUpdate.referral_id == referral_id)
    if after is not None:
        stmt = stmt.where(ReferralUpdate.seq > (int(after) if after.isdigit() else 0))
    rows = list(session.scalars(stmt.order_by(ReferralUpdate.seq).limit(limit + 1)))
    if len(rows) <= limit:
        return Page(rows, None)
    return Page(rows[:limit], str(rows[limit - 1].seq))
