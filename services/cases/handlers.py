"""Use cases of a case: open it, change it. Only a support center opens; only the owner changes."""

from services.access import policy
from services.actor import Actor
from services.cases import repository
from services.cases.commands import OpenCase, UpdateCase
from services.cases.models import Case
from services.errors import Forbidden
from services.ids import new_id
from services.unit_of_work import UnitOfWork
from services.versioning import check_version


def open_case(cmd: OpenCase, uow: UnitOfWork, actor: Actor) -> Case:
    if actor.org_kind != policy.OWNER_KIND:
        raise Forbidden("only a support center opens cases")
    with uow:
        now = uow.clock.now()
        case = Case.open(
            case_id=new_id(),
            reference=repository.next_reference(uow.session, now.year),
            owner_org=actor.org,
            harm_types=cmd.harm_types,
            age_band=cmd.age_band,
            now=now,
            origin_referral_id=cmd.origin_referral_id,
        )
        repository.add(uow.session, case)
        uow.commit()
        return case


def update_case(cmd: UpdateCase, uow: UnitOfWork, actor: Actor) -> Case:
    with uow:
        case = policy.owned_case(uow.session, actor, cmd.case_id, for_update=True)
        check_version(case.version, cmd.expected_version)
        case.change(
            now=uow.clock.now(),
            harm_types=cmd.harm_types,
            age_band=cmd.age_band,
            status=cmd.status,
        )
        uow.commit()
        return case
