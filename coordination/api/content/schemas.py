"""Wire shapes of content items and sightings. Unknown fields, and fields the server owns
(status, org, version, timestamps), are refused on input."""

from typing import Any

from marshmallow import Schema, fields, validate

from services.content.models import CONTENT_KINDS, SIGHTING_STATES

HEX64 = r"^[0-9a-fA-F]{64}$"


class StrictBoolean(fields.Boolean):
    """A JSON true or false, nothing else (no "yes", no 1)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class ContentCreate(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(CONTENT_KINDS))
    sha256 = fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9a-f]{64}$", error="64 lowercase hex characters"),
    )
    pdq = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(HEX64, error="64 hex characters"),
    )
    pdq_quality = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(0, 100)
    )
    description = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=2000)
    )
    involves_minor = StrictBoolean(required=True)


class SightingCreate(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    platform = fields.String(required=True, validate=validate.Length(min=1, max=100))
    seen_at = fields.AwareDateTime(load_default=None, allow_none=True)
    state = fields.String(load_default="online", validate=validate.OneOf(SIGHTING_STATES))
    removed_at = fields.AwareDateTime(load_default=None, allow_none=True)


def dump_content(item: Any) -> dict[str, Any]:
    return {
        "id": item.id,
        "case_id": item.case_id,
        "kind": item.kind,
        "sha256": item.sha256,
        "pdq": item.pdq,
        "pdq_quality": item.pdq_quality,
        "description": item.description,
        "involves_minor": item.involves_minor,
        "status": item.status,
        "registered_by_org": item.registered_by_org,
        "registered_at": _time(item.registered_at),
        "updated_at": _time(item.updated_at),
        "takedown_requested_at": _time(item.takedown_requested_at),
        "removed_at": _time(item.removed_at),
        "version": item.version,
    }


def dump_sighting(sighting: Any) -> dict[str, Any]:
    return {
        "id": sighting.id,
        "content_id": sighting.content_id,
        "url": sighting.url,
        "platform": sighting.platform,
        "seen_at": _time(sighting.seen_at),
        "state": sighting.state,
        "removed_at": _time(sighting.removed_at),
        "recorded_by_org": sighting.recorded_by_org,
        "recorded_at": _time(sighting.recorded_at),
    }


def _time(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
