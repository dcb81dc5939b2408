"""Reads of content items and sightings, through the access policy: the case owner sees all
of its items; any other org only the items a live referral addressed to it shares."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.access import policy
from services.actor import Actor
from services.content.models import ContentItem, Sighting
from services.pagination import Page, PageRequest, paginate


def get_content(session: Session, actor: Actor, content_id: str) -> ContentItem:
    return policy.visible_content(session, actor, content_id)


def list_case_content(
    session: Session, actor: Actor, case_id: str, page: PageRequest
) -> Page[ContentItem]:
    policy.visible_case(session, actor, case_id)
    stmt = select(ContentItem).where(ContentItem.case_id == case_id, policy.content_filter(actor))
    return paginate(session, stmt, ContentItem.id.expression, page)


def list_sightings(
    session: Session, actor: Actor, content_id: str, page: PageRequest
) -> Page[Sighting]:
    policy.visible_content(session, actor, content_id)
    stmt = select(Sighting).where(Sighting.content_id == content_id)
    return paginate(session, stmt, Sighting.id.expression, page)
