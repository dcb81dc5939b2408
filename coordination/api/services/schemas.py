"""Wire shapes of support services delivered."""

from typing import Any

from marshmallow import Schema, fields, validate

from services.support.models import SERVICE_TYPES


class ServiceCreate(Schema):
    type = fields.String(required=True, validate=validate.OneOf(SERVICE_TYPES))
    provider_org = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=64)
    )
    delivered_at = fields.AwareDateTime(required=True)
    count = fields.Integer(load_default=1, strict=True, validate=validate.Range(1, 100_000))
    referral_id = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=36)
    )


def dump_service(service: Any) -> dict[str, Any]:
    return {
        "id": service.id,
        "case_id": service.case_id,
        "type": service.type,
        "provider_org": service.provider_org,
        "delivered_at": _time(service.delivered_at),
        "count": service.count,
        "referral_id": service.referral_id,
        "recorded_by_org": service.recorded_by_org,
        "recorded_at": _time(service.recorded_at),
    }


def _time(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
