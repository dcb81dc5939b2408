"""Wire shapes of consents."""

from typing import Any

from marshmallow import Schema, fields, validate

from coordination.api.cases.schemas import rfc3339
from services.consents.models import GRANTORS, PURPOSES, Consent


class ConsentGrantIn(Schema):
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    granted_by = fields.String(required=True, validate=validate.OneOf(GRANTORS))
    legal_basis = fields.String(
        validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,63}$"), load_default=None
    )


class ConsentRevokeIn(Schema):
    revoked_by = fields.String(validate=validate.OneOf(GRANTORS), load_default=None)


def consent_json(consent: Consent) -> dict[str, Any]:
    return {
        "id": consent.id,
        "case_id": consent.case_id,
        "purpose": consent.purpose,
        "granted_by": consent.granted_by,
        "legal_basis": consent.legal_basis,
        "granted_at": rfc3339(consent.granted_at),
        "revoked_at": rfc3339(consent.revoked_at),
        "revoked_by": consent.revoked_by,
        "live": consent.is_live,
        "version": consent.version,
    }
