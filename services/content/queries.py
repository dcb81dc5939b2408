"""Reads of content items and sightings: the case owner sees all of its items; any other org
only the items a live referral addressed to it shares."""

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from services.actor import Actor
from services.cases.models import Case
from services.content.models import ContentItem, Sighting
from services.errors import NotFound
from services.referrals.queries import OWNER, Page, case_role, paginate, shared_content_clause


def visible_content(org: str) -> ColumnElement[bool]:
    """Needs `Case` joined on the item's case."""
    return or_(Case.owner_org == org, shared_content_clause(org, ContentItem.id))


def get_visible(session: Session, actor: Actor, content_id: str) -> ContentItem:
    item = session.scalars(
        select(ContentItem)
        .join(Case, Case.id == ContentItem.case_id)
        .where(ContentItem.id == content_id, visible_content(actor.org))
    ).one_or_none()
    if item is None:
        raise NotFound("no such content item")
    return item


def list_case_content(
    session: Session, actor: Actor, case_id: str, after: str | None, limit: int
) -> Page[ContentItem]:
    _, role = case_role(session, actor, case_id)
    stmt = select(ContentItem).where(ContentItem.case_id == case_id)
    if role != OWNER:
        stmt = stmt.where(shared_content_clause(actor.org, ContentItem.id))
    return paginate(session, stmt, ContentItem.id, after, limit)


def list_sightings(
    session: Session, actor: Actor, content_id: str, after: str | None, limit: int
) -> Page[Sighting]:
    get_visible(session, actor, content_id)
    stmt = select(Sighting).where(Sighting.content_id == content_id)
    return paginate(session, stmt, Sighting.id, after, limit)
