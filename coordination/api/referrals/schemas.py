"""Wire shapes of referrals and their updates. Unknown fields, and fields the server owns
(from_org, status beyond requested/draft, version, timestamps), are refused on input."""

from typing import Any

from marshmallow import Schema, fields, validate

from coordination.api.content.schemas import StrictBoolean
from services.cases.models import AGE_BANDS, HARM_TYPES
from services.referrals.models import REFERRAL_TYPES, STATUSES

CODE = validate.Regexp(r"^[a-z][a-z0-9_]{0,63}$", error="lowercase letters, digits and _")


class VictimHint(Schema):
    age_band = fields.String(required=True, validate=validate.OneOf(AGE_BANDS))


class ReferralCreate(Schema):
    case_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    type = fields.String(required=True, validate=validate.OneOf(REFERRAL_TYPES))
    to_org = fields.String(required=True, validate=validate.Length(min=1, max=64))
    content_ids = fields.List(
        fields.String(validate=validate.Length(max=36)),
        load_default=list,
        validate=validate.Length(max=200),
    )
    share_victim_identity = StrictBoolean(load_default=False)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    status = fields.String(
        load_default="requested", validate=validate.OneOf(("requested", "draft"))
    )
    based_on = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    legal_basis = fields.String(load_default=None, allow_none=True, validate=CODE)
    # Only for a police `victim_support` referral, which has no case yet.
    harm_types = fields.List(
        fields.String(validate=validate.OneOf(HARM_TYPES)), load_default=None, allow_none=True
    )
    victim = fields.Nested(VictimHint, load_default=None, allow_none=True)


class UpdateCreate(Schema):
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES))
    business_status = fields.String(load_default=None, allow_none=True, validate=CODE)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    reason = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=1000)
    )
    occurred_at = fields.AwareDateTime(load_default=None, allow_none=True)


class ReferralListQuery(Schema):
    direction = fields.String(load_default=None, validate=validate.OneOf(("inbox", "outbox")))
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    type = fields.String(load_default=None, validate=validate.OneOf(REFERRAL_TYPES))
    case_id = fields.String(load_default=None, validate=validate.Length(min=1, max=36))
    limit = fields.String(load_default=None)
    cursor = fields.String(load_default=None)


def dump_referral(referral: Any) -> dict[str, Any]:
    return {
        "id": referral.id,
        "case_id": referral.case_id,
        "type": referral.type,
        "from_org": referral.from_org,
        "to_org": referral.to_org,
        "content_ids": referral.content_ids,
        "share_victim_identity": referral.share_victim_identity,
        "legal_basis": referral.legal_basis,
        "note": referral.note,
        "based_on": referral.based_on,
        "harm_types": referral.harm_types,
        "victim": {"age_band": referral.victim_age_band} if referral.victim_age_band else None,
        "status": referral.status,
        "business_status": referral.business_status,
        "due_at": _time(referral.due_at),
        "created_at": _time(referral.created_at),
        "sent_at": _time(referral.sent_at),
        "updated_at": _time(referral.updated_at),
        "ended_at": _time(referral.ended_at),
        "version": referral.version,
    }


def dump_update(update: Any) -> dict[str, Any]:
    return {
        "id": update.id,
        "referral_id": update.referral_id,
        "seq": update.seq,
        "author_org": update.author_org,
        "previous_status": update.previous_status,
        "status": update.status,
        "business_status": update.business_status,
        "note": update.note,
        "reason": update.reason,
        "occurred_at": _time(update.occurred_at),
        "recorded_at": _time(update.recorded_at),
    }


def _time(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
