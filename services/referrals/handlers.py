"""Use cases of referrals: refer a case (or, from the police, a victim) to a partner, and post
updates that move a referral through its states (CONTRACT section 4)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.access import policy
from services.actor import Actor
from services.cases import repository as cases
from services.cases.models import Case, check_age_band, check_harm_types
from services.consents.models import ORG_KIND_PURPOSE, Consent
from services.content import repository as content
from services.content.models import ContentItem
from services.errors import Forbidden, InvalidInput
from services.ids import new_id
from services.monitoring.schedule import start_monitoring_if_cleared
from services.orgs import repository as orgs
from services.referrals import repository
from services.referrals.commands import CreateReferral, PostReferralUpdate
from services.referrals.models import (
    RECEIVER_KINDS,
    REFERRAL_TYPES,
    REMOVED_CODE,
    SENDER_KINDS,
    Referral,
    ReferralContent,
    ReferralUpdate,
)
from services.unit_of_work import UnitOfWork
from services.versioning import check_version

CLOCK_SKEW = timedelta(minutes=5)
# A takedown in one of these is still being worked on; one that moves to the others failed.
LIVE_STATUSES = ("requested", "accepted", "in_progress", "on_hold")
UNDONE_STATUSES = frozenset({"rejected", "cancelled", "failed"})
MAX_NOTE = 4000


@dataclass(frozen=True)
class DueHours:
    """The response target of each referral type, in hours (None: no target)."""

    takedown: int | None = 24

    def of(self, referral_type: str) -> int | None:
        return self.takedown if referral_type == "takedown" else None


def create_referral(
    cmd: CreateReferral, uow: UnitOfWork, actor: Actor, due: DueHours | None = None
) -> Referral:
    due = due or DueHours()
    _check_shape(cmd, actor)
    with uow:
        session = uow.session
        now = uow.clock.now()
        receiver = orgs.get(session, cmd.to_org)
        if receiver is None or receiver.kind not in RECEIVER_KINDS[cmd.type]:
            kinds = " or ".join(sorted(RECEIVER_KINDS[cmd.type]))
            raise InvalidInput(
                f"a {cmd.type} referral goes to a {kinds} organisation",
                errors={"to_org": [f"an existing {kinds} organisation"]},
            )
        case: Case | None = None
        items: list[ContentItem] = []
        if cmd.type == "victim_support":
            # No case yet: the police own the referral until a center accepts it and opens one.
            owner_org = actor.org
        else:
            assert cmd.case_id is not None  # checked by _check_shape
            case = policy.owned_case(session, actor, cmd.case_id)
            case.ensure_open_for_work()
            owner_org = case.owner_org
            items = content.get_many(session, case.id, list(cmd.content_ids))
            if len(items) != len(set(cmd.content_ids)):
                raise InvalidInput(
                    "every shared content item must belong to the case",
                    errors={"content_ids": ["unknown content item for this case"]},
                )
            _check_consent(session, case, receiver.kind, cmd)
        if cmd.based_on is not None:
            earlier = session.get(Referral, cmd.based_on)
            if (
                earlier is None
                or not policy.can_see_referral(actor, earlier)
                or earlier.case_id != cmd.case_id
            ):
                raise InvalidInput(
                    "based_on must be an earlier referral of the same case",
                    errors={"based_on": ["unknown referral for this case"]},
                )
        referral = Referral.create(
            referral_id=new_id(),
            case_id=cmd.case_id,
            referral_type=cmd.type,
            from_org=actor.org,
            to_org=receiver.id,
            owner_org=owner_org,
            content_ids=[item.id for item in items],
            share_victim_identity=cmd.share_victim_identity,
            legal_basis=cmd.legal_basis,
            note=cmd.note,
            based_on=cmd.based_on,
            victim_age_band=cmd.victim_age_band,
            harm_types=sorted(set(cmd.harm_types)) if cmd.harm_types else None,
            draft=cmd.draft,
            due_hours=due.of(cmd.type),
            now=now,
        )
        repository.add(session, referral)
        if referral.status == "requested":
            _on_sent(referral, case, items, now)
        uow.commit()
        return referral


def post_referral_update(
    cmd: PostReferralUpdate, uow: UnitOfWork, actor: Actor, due: DueHours | None = None
) -> tuple[Referral, ReferralUpdate]:
    due = due or DueHours()
    with uow:
        session = uow.session
        now = uow.clock.now()
        referral = policy.visible_referral(session, actor, cmd.referral_id, for_update=True)
        check_version(referral.version, cmd.expected_version)
        occurred_at = cmd.occurred_at or now
        if occurred_at > now + CLOCK_SKEW:
            raise InvalidInput(
                "occurred in the future", errors={"occurred_at": ["must not be in the future"]}
            )
        referral.check_update(
            by_org=actor.org,
            status=cmd.status,
            business_status=cmd.business_status,
            note=cmd.note,
            reason=cmd.reason,
        )
        # Held until the commit: the session keeps flushed objects (and their events) only weakly.
        opened: Case | None = None
        if cmd.status == "accepted" and referral.type == "victim_support" and not referral.case_id:
            opened = _open_case_from(session, referral, now)
        update = referral.post_update(
            update_id=new_id(),
            by_org=actor.org,
            status=cmd.status,
            business_status=cmd.business_status,
            note=cmd.note,
            reason=cmd.reason,
            occurred_at=occurred_at,
            due_hours=due.of(referral.type),
            now=now,
        )
        repository.add_update(session, update)
        takedown_effect = referral.type == "takedown" and (
            cmd.status in UNDONE_STATUSES or cmd.business_status == REMOVED_CODE
        )
        # Only a send or a takedown's end touches the case and its items (the hot path, a plain
        # business status or note, reads nothing more).
        if referral.case_id is not None and (cmd.status == "requested" or takedown_effect):
            case = cases.get(session, referral.case_id)
            items = content.get_many(session, referral.case_id, referral.content_ids)
            if cmd.status == "requested":
                _on_sent(referral, case, items, now)
            if referral.type == "takedown" and cmd.status in UNDONE_STATUSES:
                _takedown_ended(session, referral, items, now)
            if referral.type == "takedown" and cmd.business_status == REMOVED_CODE:
                _mark_removed(session, referral, items, now)
                if case is not None:  # every item down: watch for re-uploads (issue 7)
                    start_monitoring_if_cleared(session, case, now)
        uow.commit()
        del opened
        return referral, update


def _check_shape(cmd: CreateReferral, actor: Actor) -> None:
    """What can be refused from the command alone, before touching the database."""
    errors: dict[str, list[str]] = {}
    if cmd.type not in REFERRAL_TYPES:
        raise InvalidInput("unknown referral type", errors={"type": [", ".join(REFERRAL_TYPES)]})
    if actor.org_kind not in SENDER_KINDS[cmd.type]:
        raise Forbidden(f"a {actor.org_kind} organisation does not send {cmd.type} referrals")
    if cmd.to_org == actor.org:
        errors["to_org"] = ["another organisation than the sender"]
    if cmd.type == "victim_support":
        if cmd.case_id is not None:
            errors["case_id"] = ["a victim_support referral opens its case at the center"]
        if cmd.content_ids:
            errors["content_ids"] = ["a victim_support referral shares no content"]
        if cmd.share_victim_identity:
            errors["share_victim_identity"] = ["the center records the identity itself"]
        try:
            check_harm_types(cmd.harm_types or [])
            check_age_band(cmd.victim_age_band or "unknown")
        except InvalidInput as exc:
            errors.update(exc.errors or {})
    else:
        if cmd.case_id is None:
            errors["case_id"] = ["required"]
        if cmd.harm_types is not None or cmd.victim_age_band is not None:
            errors["harm_types"] = ["only for a victim_support referral; the case has them"]
        if cmd.type == "takedown" and not cmd.content_ids:
            errors["content_ids"] = ["a takedown names at least one content item"]
    if cmd.note is not None and len(cmd.note) > MAX_NOTE:
        errors["note"] = [f"at most {MAX_NOTE} characters"]
    if errors:
        raise InvalidInput("the referral is not valid", errors=errors)


def _check_consent(session: Session, case: Case, receiver_kind: str, cmd: CreateReferral) -> None:
    """A referral needs a live consent for its purpose, or a recorded legal basis; sharing the
    victim's identity needs the consent itself (a minor's: the guardian's, or a legal basis)."""
    purpose = ORG_KIND_PURPOSE.get(receiver_kind)
    if purpose is None:  # pragma: no cover - every receiving kind but the center has a purpose
        return
    live = [
        consent
        for consent in session.scalars(
            select(Consent).where(
                Consent.case_id == case.id,
                Consent.purpose == purpose,
                Consent.revoked_at.is_(None),
            )
        )
        if not case.is_minor or consent.granted_by == "guardian" or consent.legal_basis
    ]
    if cmd.share_victim_identity and not live:
        raise InvalidInput(
            f"sharing the victim's identity needs a live {purpose} consent",
            errors={"share_victim_identity": [f"no live {purpose} consent"]},
        )
    if not live and not cmd.legal_basis:
        raise InvalidInput(
            f"a referral to a {receiver_kind} needs a live {purpose} consent or a legal basis",
            errors={"legal_basis": [f"required without a live {purpose} consent"]},
        )


def _on_sent(
    referral: Referral, case: Case | None, items: list[ContentItem], now: datetime
) -> None:
    if case is not None:
        case.mark_active(now)
    if referral.type == "takedown":
        for item in items:
            item.takedown_requested(now)


def _takedown_ended(
    session: Session, referral: Referral, items: list[ContentItem], now: datetime
) -> None:
    """A takedown ended without removing its items: those no other live takedown names are
    online again (not `takedown_requested` forever)."""
    still_asked = set(
        session.scalars(
            select(ReferralContent.content_id)
            .join(Referral, Referral.id == ReferralContent.referral_id)
            .where(
                Referral.type == "takedown",
                Referral.id != referral.id,
                Referral.status.in_(LIVE_STATUSES),
                ReferralContent.content_id.in_([item.id for item in items]),
            )
        )
    )
    for item in items:
        if item.id not in still_asked:
            item.takedown_ended(now)


def _mark_removed(
    session: Session, referral: Referral, items: list[ContentItem], now: datetime
) -> None:
    """The takedown's receiver reports `removed`: its items are down, and so are their sightings."""
    for item in items:
        if item.removed(owner_org=referral.owner_org, referral_id=referral.id, now=now):
            for sighting in content.online_sightings(session, item.id):
                sighting.mark_removed(now)


def _open_case_from(session: Session, referral: Referral, now: datetime) -> Case:
    """A center accepts a police `victim_support` referral: the case opens, owned by it."""
    case = Case.open(
        case_id=new_id(),
        reference=cases.next_reference(session, now.year),
        owner_org=referral.to_org,
        harm_types=list(referral.harm_types or []),
        age_band=referral.victim_age_band or "unknown",
        now=now,
        origin_referral_id=referral.id,
    )
    cases.add(session, case)
    session.flush()
    referral.link_case(case.id, case.owner_org)
    return case
