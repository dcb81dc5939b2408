"""Reads of services delivered: the case owner sees every one; a partner the ones it provided."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.actor import Actor
from services.referrals.queries import OWNER, Page, case_role, paginate
from services.support.models import SupportService


def list_services(
    session: Session, actor: Actor, case_id: str, after: str | None, limit: int
) -> Page[SupportService]:
    _, role = case_role(session, actor, case_id)
    stmt = select(SupportService).where(SupportService.case_id == case_id)
    if role != OWNER:
        stmt = stmt.where(SupportService.provider_org == actor.org)
    return paginate(session, stmt, SupportService.id, after, limit)
