"""Wire shapes of cases and victim identity. Unknown fields, server-owned ones included, 422."""

from datetime import datetime
from typing import Any

from marshmallow import Schema, fields, validate

from services.cases.models import AGE_BANDS, HARM_TYPES, Case
from services.victims.handlers import Identity

# The statuses a client may ask for; `open` is where a case starts, never a move.
PATCHABLE_STATUSES = ("active", "monitoring", "closed")


class VictimBandIn(Schema):
    age_band = fields.String(required=True, validate=validate.OneOf(AGE_BANDS))


class CaseCreateIn(Schema):
    harm_types = fields.List(
        fields.String(validate=validate.OneOf(HARM_TYPES)),
        required=True,
        validate=validate.Length(min=1, max=len(HARM_TYPES)),
    )
    victim = fields.Nested(VictimBandIn, load_default=None)


class CasePatchIn(Schema):
    harm_types = fields.List(
        fields.String(validate=validate.OneOf(HARM_TYPES)),
        validate=validate.Length(min=1, max=len(HARM_TYPES)),
    )
    victim = fields.Nested(VictimBandIn)
    status = fields.String(validate=validate.OneOf(PATCHABLE_STATUSES))


class CaseListArgs(Schema):
    status = fields.String(validate=validate.OneOf(("open", "active", "monitoring", "closed")))
    harm_type = fields.String(validate=validate.OneOf(HARM_TYPES))
    limit = fields.String()
    cursor = fields.String()


class GuardianIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    relationship = fields.String(validate=validate.Length(min=1, max=64), load_default=None)
    phone = fields.String(validate=validate.Length(min=3, max=40), load_default=None)
    email = fields.Email(validate=validate.Length(max=254), load_default=None)


class VictimIdentityIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(validate=validate.Length(min=3, max=40), load_default=None)
    email = fields.Email(validate=validate.Length(max=254), load_default=None)
    guardian = fields.Nested(GuardianIn, allow_none=True, load_default=None)


def rfc3339(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def case_json(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "reference": case.reference,
        "owner_org": case.owner_org,
        "status": case.status,
        "harm_types": list(case.harm_types),
        "victim": {
            "age_band": case.age_band,
            "is_minor": case.is_minor,
            "identity": case.identity_state,
        },
        "origin_referral_id": case.origin_referral_id,
        "opened_at": rfc3339(case.opened_at),
        "closed_at": rfc3339(case.closed_at),
        "updated_at": rfc3339(case.updated_at),
        "version": case.version,
    }


def identity_json(identity: Identity) -> dict[str, Any]:
    fields_ = identity.fields
    return {
        "case_id": identity.case_id,
        "name": fields_.get("name"),
        "phone": fields_.get("phone"),
        "email": fields_.get("email"),
        "guardian": fields_.get("guardian"),
        "version": identity.version,
        "updated_at": rfc3339(identity.updated_at),
    }
