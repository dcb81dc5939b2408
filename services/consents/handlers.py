"""Consent: recorded by the owning center, revoked as a new fact that cuts access at once."""

import re

from sqlalchemy import select

from services.access import policy
from services.actor import Actor
from services.consents.commands import GrantConsent, RevokeConsent
from services.consents.models import GRANTORS, PURPOSES, Consent
from services.errors import InvalidInput, NotFound
from services.ids import new_id
from services.unit_of_work import UnitOfWork
from services.versioning import check_version

LEGAL_BASIS = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def grant_consent(cmd: GrantConsent, uow: UnitOfWork, actor: Actor) -> Consent:
    errors: dict[str, list[str]] = {}
    if cmd.purpose not in PURPOSES:
        errors["purpose"] = [f"must be one of {', '.join(PURPOSES)}"]
    if cmd.granted_by not in GRANTORS:
        errors["granted_by"] = [f"must be one of {', '.join(GRANTORS)}"]
    if cmd.legal_basis is not None and not LEGAL_BASIS.match(cmd.legal_basis):
        errors["legal_basis"] = ["a code: lowercase letters, digits and _"]
    if errors:
        raise InvalidInput("the consent is not valid", errors=errors)
    with uow:
        case = policy.owned_case(uow.session, actor, cmd.case_id)
        case.ensure_open_for_work()
        if case.is_minor and cmd.granted_by != "guardian" and cmd.legal_basis is None:
            raise InvalidInput(
                "a minor's consent must be given by the guardian, unless a legal basis applies",
                errors={"granted_by": ["must be guardian for a minor, or give legal_basis"]},
            )
        consent = Consent.grant(
            consent_id=new_id(),
            case_id=case.id,
            owner_org=case.owner_org,
            purpose=cmd.purpose,
            granted_by=cmd.granted_by,
            legal_basis=cmd.legal_basis,
            now=uow.clock.now(),
        )
        uow.session.add(consent)
        uow.commit()
        return consent


def revoke_consent(cmd: RevokeConsent, uow: UnitOfWork, actor: Actor) -> Consent:
    if cmd.revoked_by is not None and cmd.revoked_by not in GRANTORS:
        raise InvalidInput(
            "unknown revoker", errors={"revoked_by": [f"must be one of {', '.join(GRANTORS)}"]}
        )
    with uow:
        consent = uow.session.scalars(
            select(Consent)
            .where(Consent.id == cmd.consent_id, policy.consent_filter(actor))
            .with_for_update()
        ).one_or_none()
        if consent is None:
            raise NotFound("no such consent")
        check_version(consent.version, cmd.expected_version)
        # Who reads the identity through this purpose now, and who still will once it is gone:
        # the difference is whose access the revocation cuts (a legal basis or another live
        # consent of the same purpose keeps it).
        before = policy.orgs_reading_identity_for(uow.session, consent.case_id, consent.purpose)
        after = policy.orgs_reading_identity_for(
            uow.session, consent.case_id, consent.purpose, excluding_consent=consent.id
        )
        now = uow.clock.now()
        consent.revoke(
            owner_org=actor.org,
            revoked_by=cmd.revoked_by,
            affected_orgs=sorted(set(before) - set(after)),
            now=now,
        )
        uow.commit()
        return consent
