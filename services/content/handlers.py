"""Use cases of content: register an item (hashes and a neutral description, never media) and
record where it was seen."""

from datetime import timedelta
from urllib.parse import urlsplit

from services.access import policy
from services.actor import Actor
from services.cases.models import Case
from services.content import repository
from services.content.commands import RecordSighting, RegisterContent
from services.content.models import ContentItem, Sighting
from services.errors import Conflict, InvalidInput
from services.ids import new_id
from services.unit_of_work import UnitOfWork

# Clocks of partner systems drift: a sighting a little in the future is tolerated.
CLOCK_SKEW = timedelta(minutes=5)


def register_content(cmd: RegisterContent, uow: UnitOfWork, actor: Actor) -> ContentItem:
    with uow:
        case = policy.owned_case(uow.session, actor, cmd.case_id)
        case.ensure_open_for_work()
        item = ContentItem.register(
            item_id=new_id(),
            case_id=case.id,
            owner_org=case.owner_org,
            kind=cmd.kind,
            sha256=cmd.sha256,
            pdq=cmd.pdq,
            pdq_quality=cmd.pdq_quality,
            description=cmd.description,
            involves_minor=cmd.involves_minor,
            now=uow.clock.now(),
        )
        if repository.find_by_sha256(uow.session, case.id, cmd.sha256) is not None:
            raise Conflict("an item with this sha256 is already registered in the case")
        repository.add(uow.session, item)
        uow.commit()
        return item


def record_sighting(cmd: RecordSighting, uow: UnitOfWork, actor: Actor) -> Sighting:
    _check_url(cmd.url)
    with uow:
        item = policy.visible_content(uow.session, actor, cmd.content_id, for_update=True)
        case = uow.session.get_one(Case, item.case_id)
        now = uow.clock.now()
        seen_at = cmd.seen_at or now
        if seen_at > now + CLOCK_SKEW:
            raise InvalidInput(
                "seen in the future", errors={"seen_at": ["must not be in the future"]}
            )
        if cmd.removed_at is not None and cmd.removed_at > now + CLOCK_SKEW:
            raise InvalidInput(
                "removed in the future", errors={"removed_at": ["must not be in the future"]}
            )
        sighting = item.record_sighting(
            sighting_id=new_id(),
            owner_org=case.owner_org,
            by_org=actor.org,
            url=cmd.url,
            platform=cmd.platform,
            seen_at=seen_at,
            state=cmd.state,
            removed_at=cmd.removed_at,
            now=now,
        )
        repository.add(uow.session, sighting)
        uow.commit()
        return sighting


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput("the url is not valid", errors={"url": ["an http(s) URL"]})
