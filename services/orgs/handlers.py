import re

from services.actor import ORG_KINDS
from services.errors import Conflict, InvalidInput
from services.orgs import repository
from services.orgs.commands import CreateOrg
from services.orgs.models import Org
from services.unit_of_work import UnitOfWork

ORG_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def create_org(cmd: CreateOrg, uow: UnitOfWork) -> Org:
    errors: dict[str, list[str]] = {}
    if not ORG_ID.match(cmd.id):
        errors["id"] = ["2 to 63 characters: lowercase letters, digits and '-'"]
    if cmd.kind not in ORG_KINDS:
        errors["kind"] = [f"must be one of {', '.join(ORG_KINDS)}"]
    if not cmd.name.strip() or len(cmd.name) > 200:
        errors["name"] = ["1 to 200 characters"]
    if errors:
        raise InvalidInput("the organisation is not valid", errors=errors)
    with uow:
        if repository.get(uow.session, cmd.id) is not None:
            raise Conflict(f"organisation {cmd.id} already exists")
        org = Org(id=cmd.id, kind=cmd.kind, name=cmd.name.strip(), created_at=uow.clock.now())
        uow.session.add(org)
        uow.commit()
        return org
