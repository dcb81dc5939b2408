"""Reads of cases, always through the access policy."""

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from services.access import policy
from services.actor import Actor
from services.cases.commands import CaseFilters
from services.cases.models import CASE_STATUSES, HARM_TYPES, Case
from services.errors import InvalidInput
from services.pagination import Page, PageRequest, paginate


def get_case(session: Session, actor: Actor, case_id: str) -> Case:
    return policy.visible_case(session, actor, case_id)


def list_cases(
    session: Session, actor: Actor, filters: CaseFilters, page: PageRequest
) -> Page[Case]:
    stmt = select(Case).where(policy.case_filter(actor))
    if filters.status is not None:
        if filters.status not in CASE_STATUSES:
            raise InvalidInput("unknown status", errors={"status": [_one_of(CASE_STATUSES)]})
        stmt = stmt.where(Case.status == filters.status)
    if filters.harm_type is not None:
        if filters.harm_type not in HARM_TYPES:
            raise InvalidInput("unknown harm type", errors={"harm_type": [_one_of(HARM_TYPES)]})
        # harm_types is a JSON array of fixed codes, none a substring of another once quoted.
        stmt = stmt.where(cast(Case.harm_types, String).like(f'%"{filters.harm_type}"%'))
    return paginate(session, stmt, Case.id, page)


def _one_of(values: tuple[str, ...]) -> str:
    return f"must be one of {', '.join(values)}"
