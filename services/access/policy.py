"""Who may see what: the one place that decides it (STYLE.md item 6).

An org sees a case in exactly two ways:

* it is the support center that **owns** the case;
* a referral of the case is **addressed to it** and still shares: its status is one of
  `SHARING_STATUSES` (sent, and neither rejected nor cancelled).

Through such a referral it sees the case, the content items that referral lists (never the
others) and, only when the referral shares the victim's identity *and* the sharing is lawful
(a live consent of the purpose that matches the org's kind, or a legal basis recorded on the
referral or on a consent of that purpose), the victim's identity.

Everything here answers the same question twice: as a predicate on one loaded object (for a
`GET` by id) and as a SQL filter (for lists), built from the same rules, so a list can never
show what a `GET` would hide. Anything not visible is reported as `NotFound`, exactly as if it
did not exist.
"""

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, false, or_, select
from sqlalchemy.orm import Session, joinedload

from services.actor import Actor
from services.cases.models import Case
from services.consents.models import ORG_KIND_PURPOSE, PURPOSE_ORG_KIND, Consent
from services.content.models import ContentItem
from services.errors import Forbidden, NotFound
from services.orgs.models import Org
from services.referrals.models import SHARING_STATUSES, Referral, ReferralContent

#: The only kind of org that owns cases.
OWNER_KIND = "support_center"
#: Kinds that never see case details, whatever refers to them.
BLIND_KINDS = frozenset({"auditor"})


# ---- relationships -------------------------------------------------------------------------


def owns(actor: Actor, case: Case) -> bool:
    return actor.org_kind == OWNER_KIND and case.owner_org == actor.org


def _sharing_referrals(actor: Actor) -> ColumnElement[bool]:
    """Referrals addressed to the actor that currently share their case."""
    return and_(Referral.to_org == actor.org, Referral.status.in_(SHARING_STATUSES))


def _identity_is_lawful(excluding_consent: str | None = None) -> ColumnElement[bool]:
    """For a row of `referrals` joined with its receiver's `orgs` row: may identity flow?

    A legal basis on the referral, or a live consent of the purpose matching the receiver's
    kind (`excluding_consent` leaves one out: "would it still be lawful without it?").
    """
    consent_of_purpose = select(Consent.id).where(
        Consent.case_id == Referral.case_id,
        Consent.revoked_at.is_(None),
        or_(
            *(
                and_(Org.kind == kind, Consent.purpose == purpose)
                for kind, purpose in ORG_KIND_PURPOSE.items()
            )
        ),
    )
    if excluding_consent is not None:
        consent_of_purpose = consent_of_purpose.where(Consent.id != excluding_consent)
    return or_(
        Referral.legal_basis.is_not(None),
        exists(consent_of_purpose.correlate(Referral, Org)),
    )


# ---- cases ---------------------------------------------------------------------------------


def visible_case_ids(actor: Actor) -> Select[str]:
    """The ids of every case the actor may see, as a subquery-able select."""
    if actor.org_kind in BLIND_KINDS or not actor.org:
        return select(Case.id).where(false())
    owned = select(Case.id).where(Case.owner_org == actor.org)
    if actor.org_kind != OWNER_KIND:
        owned = owned.where(false())
    referred = select(Referral.case_id.label("id")).where(
        _sharing_referrals(actor), Referral.case_id.is_not(None)
    )
    return select(Case.id).where(or_(Case.id.in_(owned), Case.id.in_(referred)))


def case_filter(actor: Actor) -> ColumnElement[bool]:
    """WHERE clause for `select(Case)`: only cases the actor may see."""
    if actor.org_kind in BLIND_KINDS or not actor.org:
        return false()
    referred = select(Referral.case_id).where(
        _sharing_referrals(actor), Referral.case_id.is_not(None)
    )
    owner = Case.owner_org == actor.org if actor.org_kind == OWNER_KIND else false()
    return or_(owner, Case.id.in_(referred))


def can_see_case(session: Session, actor: Actor, case: Case) -> bool:
    if actor.org_kind in BLIND_KINDS or not actor.org:
        return False
    if owns(actor, case):
        return True
    stmt = select(exists().where(Referral.case_id == case.id, _sharing_referrals(actor)))
    return bool(session.scalar(stmt))


def visible_case(session: Session, actor: Actor, case_id: str, *, for_update: bool = False) -> Case:
    """The case, if the actor may see it; `NotFound` otherwise (as if it did not exist)."""
    stmt = select(Case).where(Case.id == case_id)
    if for_update:
        stmt = stmt.with_for_update()
    case = session.scalars(stmt).one_or_none()
    if case is None or not can_see_case(session, actor, case):
        raise NotFound("no such case")
    return case


def owned_case(session: Session, actor: Actor, case_id: str, *, for_update: bool = False) -> Case:
    """The case, for a change only its owner may make.

    Not visible: `NotFound`. Visible through a referral but not owned: `Forbidden` (the
    receiver knows the case exists; it just may not change it).
    """
    case = visible_case(session, actor, case_id, for_update=for_update)
    if not owns(actor, case):
        raise Forbidden("only the support center that owns the case may change it")
    return case


# ---- content -------------------------------------------------------------------------------


def content_filter(actor: Actor) -> ColumnElement[bool]:
    """WHERE clause for `select(ContentItem)`: the owner's items, and those shared with it."""
    if actor.org_kind in BLIND_KINDS or not actor.org:
        return false()
    shared = (
        select(ReferralContent.content_id)
        .join(Referral, Referral.id == ReferralContent.referral_id)
        .where(_sharing_referrals(actor))
    )
    owner: ColumnElement[bool] = false()
    if actor.org_kind == OWNER_KIND:
        owner = ContentItem.case_id.in_(select(Case.id).where(Case.owner_org == actor.org))
    return or_(owner, ContentItem.id.in_(shared))


#: The name workflow B asked for.
visible_content_filter = content_filter


def can_see_content(session: Session, actor: Actor, item: ContentItem) -> bool:
    stmt = select(exists().where(ContentItem.id == item.id, content_filter(actor)))
    return bool(session.scalar(stmt))


def visible_content(
    session: Session, actor: Actor, content_id: str, *, for_update: bool = False
) -> ContentItem:
    stmt = select(ContentItem).where(ContentItem.id == content_id, content_filter(actor))
    if for_update:
        stmt = stmt.with_for_update()
    item = session.scalars(stmt).one_or_none()
    if item is None:
        raise NotFound("no such content item")
    return item


# ---- referrals -----------------------------------------------------------------------------


def referral_filter(actor: Actor) -> ColumnElement[bool]:
    """WHERE clause for `select(Referral)`.

    The sender and the case's owner see every referral they made or that concerns their case;
    the receiver sees one once it was sent (not a draft), also after it ended (so it learns of a
    cancellation), though the *case* behind a rejected or cancelled one is hidden again.
    """
    if actor.org_kind in BLIND_KINDS or not actor.org:
        return false()
    return or_(
        Referral.from_org == actor.org,
        Referral.owner_org == actor.org,
        and_(Referral.to_org == actor.org, Referral.status != "draft"),
    )


def can_see_referral(actor: Actor, referral: Referral) -> bool:
    if actor.org_kind in BLIND_KINDS or not actor.org:
        return False
    if actor.org in (referral.from_org, referral.owner_org):
        return True
    return referral.to_org == actor.org and referral.status != "draft"


# The shared items in the same round trip (a referral's answer lists them): one query, not the
# relationship's second SELECT. Only the referral's row is locked. Built once (the id is a
# parameter): building the statement and its options on every call cost a tenth of an update.
_REFERRAL_BY_ID = (
    select(Referral)
    .options(joinedload(Referral.shared))
    .where(Referral.id == bindparam("referral_id"))
)
_REFERRAL_BY_ID_FOR_UPDATE = _REFERRAL_BY_ID.with_for_update(of=Referral)


def visible_referral(
    session: Session, actor: Actor, referral_id: str, *, for_update: bool = False
) -> Referral:
    stmt = _REFERRAL_BY_ID_FOR_UPDATE if for_update else _REFERRAL_BY_ID
    referral = session.scalars(stmt, {"referral_id": referral_id}).unique().one_or_none()
    if referral is None or not can_see_referral(actor, referral):
        raise NotFound("no such referral")
    return referral


# ---- victim identity -----------------------------------------------------------------------


def identity_sharing_filter(actor: Actor) -> ColumnElement[bool]:
    """WHERE clause over `referrals` JOIN `orgs` (the receiver): referrals through which the
    actor may read the victim's identity right now."""
    return and_(
        _sharing_referrals(actor),
        Referral.share_victim_identity.is_(True),
        Org.id == Referral.to_org,
        _identity_is_lawful(),
    )


def can_read_identity(session: Session, actor: Actor, case: Case) -> bool:
    """Owner: always. Anyone else: through a sharing referral that shares identity lawfully.

    Evaluated on every request, so a revoked consent or a cancelled referral cuts access on
    the very next one.
    """
    if actor.org_kind in BLIND_KINDS or not actor.org:
        return False
    if owns(actor, case):
        return True
    sharing = select(Referral.id).where(Referral.case_id == case.id, identity_sharing_filter(actor))
    stmt = select(exists(sharing))
    return bool(session.scalar(stmt))


def readable_identity_case(session: Session, actor: Actor, case_id: str) -> Case:
    """The case whose identity the actor may read; `NotFound` for anything else."""
    case = visible_case(session, actor, case_id)
    if not can_read_identity(session, actor, case):
        raise NotFound("no victim identity visible for this case")
    return case


def orgs_reading_identity_for(
    session: Session, case_id: str, purpose: str, *, excluding_consent: str | None = None
) -> list[str]:
    """The orgs that may read the case's identity now through referrals of `purpose`'s kind.

    With `excluding_consent`: as if that consent were gone. When a consent is revoked, the
    orgs in the first answer but not the second are those whose access it cuts.
    """
    kind = PURPOSE_ORG_KIND.get(purpose)
    if kind is None:
        return []
    stmt = (
        select(Referral.to_org)
        .join(Org, Org.id == Referral.to_org)
        .where(
            Referral.case_id == case_id,
            Referral.status.in_(SHARING_STATUSES),
            Referral.share_victim_identity.is_(True),
            Org.kind == kind,
            _identity_is_lawful(excluding_consent),
        )
        .distinct()
    )
    return sorted(session.scalars(stmt))


def live_consent_for(session: Session, case_id: str, org_kind: str) -> Consent | None:
    """The live consent that lets the case be shared with an org of `org_kind`, if any."""
    purpose = ORG_KIND_PURPOSE.get(org_kind)
    if purpose is None:
        return None
    return session.scalars(
        select(Consent)
        .where(
            Consent.case_id == case_id,
            Consent.purpose == purpose,
            Consent.revoked_at.is_(None),
        )
        .order_by(Consent.id.desc())
        .limit(1)
    ).first()


def sharing_is_lawful(
    session: Session, case_id: str, org_kind: str, legal_basis: str | None
) -> bool:
    """May a referral share this case with an org of `org_kind`? (CONTRACT section 4: a live
    consent of the matching purpose, or a recorded legal basis.)"""
    return legal_basis is not None or live_consent_for(session, case_id, org_kind) is not None


def consent_filter(actor: Actor) -> ColumnElement[bool]:
    """Consents are the owner's records: only the owning center lists or reads them."""
    if actor.org_kind != OWNER_KIND:
        return false()
    return Consent.case_id.in_(select(Case.id).where(Case.owner_org == actor.org))
