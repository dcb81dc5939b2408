"""Use case: record support actually delivered to a victim (what the statistics count)."""

from datetime import timedelta

from services.access import policy
from services.actor import Actor
from services.errors import Forbidden, InvalidInput
from services.ids import new_id
from services.orgs import repository as orgs
from services.referrals import repository as referrals
from services.referrals.queries import accepted_referral_of
from services.support import repository
from services.support.commands import RecordService
from services.support.models import SERVICE_TYPES, SupportService
from services.unit_of_work import UnitOfWork

CLOCK_SKEW = timedelta(minutes=5)
MAX_COUNT = 100_000

# A partner records services through the referral it took on: which kinds may, by which type.
PROVIDER_REFERRAL_TYPES = {"legal_aid": ("legal_aid",), "counseling": ("counseling",)}


def record_service(cmd: RecordService, uow: UnitOfWork, actor: Actor) -> SupportService:
    errors: dict[str, list[str]] = {}
    if cmd.type not in SERVICE_TYPES:
        errors["type"] = [f"one of {', '.join(SERVICE_TYPES)}"]
    if not 1 <= cmd.count <= MAX_COUNT:
        errors["count"] = [f"1 to {MAX_COUNT}"]
    if errors:
        raise InvalidInput("the service is not valid", errors=errors)
    with uow:
        session = uow.session
        now = uow.clock.now()
        if cmd.delivered_at > now + CLOCK_SKEW:
            raise InvalidInput(
                "delivered in the future", errors={"delivered_at": ["must not be in the future"]}
            )
        case = policy.visible_case(session, actor, cmd.case_id)
        referral_id = cmd.referral_id
        if policy.owns(actor, case):
            provider = cmd.provider_org or actor.org
            if orgs.get(session, provider) is None:
                raise InvalidInput("unknown provider", errors={"provider_org": ["unknown org"]})
            if referral_id is not None:
                referral = referrals.get(session, referral_id)
                if referral is None or referral.case_id != case.id:
                    raise InvalidInput(
                        "the referral is not one of this case",
                        errors={"referral_id": ["unknown referral for this case"]},
                    )
        else:
            types = PROVIDER_REFERRAL_TYPES.get(actor.org_kind, ())
            referral = accepted_referral_of(session, actor.org, case.id, types) if types else None
            if referral is None:
                raise Forbidden(
                    "a partner records services only through a referral it accepted for the case"
                )
            if cmd.provider_org not in (None, actor.org):
                raise InvalidInput(
                    "a partner records only its own services",
                    errors={"provider_org": ["your own organisation"]},
                )
            if referral_id not in (None, referral.id):
                raise InvalidInput(
                    "the referral is not the one you accepted for this case",
                    errors={"referral_id": ["your accepted referral for this case"]},
                )
            provider, referral_id = actor.org, referral.id
        service = SupportService.deliver(
            service_id=new_id(),
            case_id=case.id,
            owner_org=case.owner_org,
            service_type=cmd.type,
            provider_org=provider,
            delivered_at=cmd.delivered_at,
            count=cmd.count,
            referral_id=referral_id,
            by_org=actor.org,
            now=now,
        )
        repository.add(session, service)
        uow.commit()
        return service
