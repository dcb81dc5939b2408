"""Wire shapes of the audit API: query strings in, entries, checkpoints and proofs out.

Hashes in JSON are lowercase hex; the checkpoint note itself carries its root in base64, as
the C2SP tlog-checkpoint format requires.
"""

import base64
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates

from services.audit.models import OUTCOMES, AuditCosignature, AuditEntry, format_time
from services.audit.queries import CheckpointView, ConsistencyProof, InclusionProof
from services.audit.review import MonthlyReview

#: Years 2000 to 2999: the service's own era (year 0, or 10000 at the end of 9999-12, is no date
#: Python can hold, and Seoul's offset before 1908 was not a whole minute).
_MONTH = r"^2\d{3}-(0[1-9]|1[0-2])$"


class EntryQuery(Schema):
    class Meta:
        unknown = RAISE

    case_id = fields.String(validate=validate.Length(min=1, max=64))
    org = fields.String(validate=validate.Length(min=1, max=64))
    client_id = fields.String(validate=validate.Length(min=1, max=128))
    action = fields.String(validate=validate.Length(min=1, max=80))
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    at_from = fields.AwareDateTime(data_key="from")
    at_to = fields.AwareDateTime(data_key="to")
    # Read by the pagination helpers; declared so that they are not refused as unknown.
    limit = fields.String(load_only=True)
    cursor = fields.String(load_only=True)


class InclusionQuery(Schema):
    class Meta:
        unknown = RAISE

    index = fields.Integer(required=True, strict=False, validate=validate.Range(min=0))
    tree_size = fields.Integer(validate=validate.Range(min=1))


class ConsistencyQuery(Schema):
    class Meta:
        unknown = RAISE

    first = fields.Integer(required=True, validate=validate.Range(min=1))
    second = fields.Integer(validate=validate.Range(min=1))


class CheckpointQuery(Schema):
    class Meta:
        unknown = RAISE

    tree_size = fields.Integer(validate=validate.Range(min=1))


class ReviewQuery(Schema):
    class Meta:
        unknown = RAISE

    month = fields.String(required=True, validate=validate.Regexp(_MONTH, error="YYYY-MM"))


class CosignatureCreate(Schema):
    class Meta:
        unknown = EXCLUDE

    tree_size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    cosignature = fields.String(required=True, validate=validate.Length(min=1, max=512))
    verifier_key = fields.String(required=True, validate=validate.Length(min=1, max=256))

    @validates("cosignature")
    def _one_line(self, value: str, **_: Any) -> None:
        if "\n" in value.rstrip("\n"):
            raise ValidationError("one signature line")


def dump_entry(entry: AuditEntry) -> dict[str, Any]:
    document = entry.document()
    document["leaf_hash"] = entry.leaf_hash
    return document


def dump_cosignature(cosignature: AuditCosignature) -> dict[str, Any]:
    return {
        "tree_size": cosignature.checkpoint_size,
        "witness": cosignature.witness,
        "verifier_key": cosignature.verifier_key,
        "timestamp": format_time(cosignature.cosigned_at),
        "line": cosignature.line,
    }


def dump_checkpoint(view: CheckpointView, log_key: str) -> dict[str, Any]:
    return {
        "origin": view.parsed.origin,
        "tree_size": view.parsed.size,
        "root_hash": view.parsed.root_hash.hex(),
        "timestamp": format_time(view.checkpoint.signed_at),
        "note": view.note,
        "log_key": log_key,
        "cosignatures": [dump_cosignature(c) for c in view.cosignatures],
    }


def dump_key(origin: str, log_keys: str, public_key: bytes) -> dict[str, Any]:
    current, *retired = log_keys.splitlines()
    return {
        "origin": origin,
        "log_key": current,
        "retired_keys": retired,
        "algorithm": "Ed25519",
        "public_key": base64.b64encode(public_key).decode(),
    }


def dump_inclusion(proof: InclusionProof) -> dict[str, Any]:
    return {
        "index": proof.index,
        "tree_size": proof.tree_size,
        "leaf_hash": proof.leaf_hash.hex(),
        "root_hash": proof.root_hash.hex(),
        "audit_path": [h.hex() for h in proof.path],
    }


def dump_consistency(proof: ConsistencyProof) -> dict[str, Any]:
    return {
        "first": proof.first,
        "second": proof.second,
        "first_root": proof.first_root.hex(),
        "second_root": proof.second_root.hex(),
        "proof": [h.hex() for h in proof.path],
    }


def dump_review(review: MonthlyReview) -> dict[str, Any]:
    return {
        "month": review.month,
        "from": format_time(review.start),
        "to": format_time(review.end),
        "timezone": "Asia/Seoul",
        "office_hours": "Mon-Fri 09:00-18:00",
        "orgs": [
            {
                "org": org.org,
                "entries": org.entries,
                "identity_reads": org.identity_reads,
                "denied": org.denied,
                "outside_office_hours": org.outside_office_hours,
                "outside_office_hours_samples": org.outside_samples,
                "busiest_clients": [
                    {"client_id": client, "entries": count}
                    for client, count in org.busiest_clients()
                ],
                "unusual": org.unusual(review.days),
            }
            for org in review.orgs
        ],
    }
