"""Reads of services delivered: the case owner sees every one; a partner the ones it provided."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.access import policy
from services.actor import Actor
from services.pagination import Page, PageRequest, paginate
from services.support.models import SupportService


def list_services(
    session: Session, actor: Actor, case_id: str, page: PageRequest
) -> Page[SupportService]:
    case = policy.visible_case(session, actor, case_id)
    stmt = select(SupportService).where(SupportService.case_id == case_id)
    if not policy.owns(actor, case):
        stmt = stmt.where(SupportService.provider_org == actor.org)
    return paginate(session, stmt, SupportService.id.expression, page)
