"""Wire shapes of monitoring hits, their outcome, and the re-checks due (issue 7)."""

from datetime import datetime
from typing import Any

from marshmallow import Schema, fields, validate

from services.monitoring.handlers import MatchOutcome
from services.monitoring.queries import DueCheck


class HitCreate(Schema):
    sha256 = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[0-9a-f]{64}$", error="64 lowercase hex characters"),
    )
    pdq = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[0-9a-fA-F]{64}$", error="64 hex characters"),
    )
    pdq_quality = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(0, 100)
    )
    url = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    platform = fields.String(required=True, validate=validate.Length(min=1, max=100))


class CheckCreate(Schema):
    content_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    checked_at = fields.AwareDateTime(load_default=None, allow_none=True)


def dump_outcome(outcome: MatchOutcome) -> dict[str, Any]:
    body: dict[str, Any] = {
        "matched": outcome.matched,
        "owner_notified": outcome.owner_notified,
        "low_quality": outcome.low_quality,
        "matches": [
            {
                "content_id": m.content_id,
                "case_id": m.case_id,
                "match_type": m.match_type,
                "distance": m.distance,
                "status": m.status,
                "sighting_id": m.sighting_id,
                "draft_referral_id": m.draft_referral_id,
            }
            for m in outcome.matches
        ],
    }
    if outcome.hit_id is not None:
        body["hit_id"] = outcome.hit_id
    return body


def dump_due(check: DueCheck) -> dict[str, Any]:
    return {
        "content_id": check.content_id,
        "case_id": check.case_id,
        "kind": check.kind,
        "sha256": check.sha256,
        "pdq": check.pdq,
        "due_at": _time(check.due_at),
        "check_number": check.check_number,
        "checks_total": check.checks_total,
        "last_checked_at": _time(check.last_checked_at),
        "monitoring_ends_at": _time(check.monitoring_ends_at),
    }


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
