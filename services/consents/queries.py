"""Reads of consents: the owning center's records, through the policy."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.access import policy
from services.actor import Actor
from services.consents.models import Consent
from services.errors import NotFound
from services.pagination import Page, PageRequest, paginate


def get_consent(session: Session, actor: Actor, consent_id: str) -> Consent:
    consent = session.scalars(
        select(Consent).where(Consent.id == consent_id, policy.consent_filter(actor))
    ).one_or_none()
    if consent is None:
        raise NotFound("no such consent")
    return consent


def list_consents(session: Session, actor: Actor, case_id: str, page: PageRequest) -> Page[Consent]:
    case = policy.visible_case(session, actor, case_id)
    stmt = select(Consent).where(Consent.case_id == case.id, policy.consent_filter(actor))
    return paginate(session, stmt, Consent.id, page)
