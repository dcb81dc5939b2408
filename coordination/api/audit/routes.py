"""The audit trail: entries, signed checkpoints and cosignatures, RFC 9162 proofs, the review.

Entries and the review need `audit.read` (auditor: everything; support center: its cases).
The checkpoint, the log key and consistency proofs are what witnesses need: any valid token
reads them, and the auditor, the police and the standards commission may post cosignatures.
"""

from typing import Any

from flask import Response

from coordination.api import api
from coordination.api.audit.keys import audit_signer, log_keys
from coordination.api.audit.schemas import (
    CheckpointQuery,
    ConsistencyQuery,
    CosignatureCreate,
    EntryQuery,
    InclusionQuery,
    ReviewQuery,
    dump_checkpoint,
    dump_consistency,
    dump_cosignature,
    dump_entry,
    dump_inclusion,
    dump_key,
    dump_review,
)
from coordination.auth.guard import authorize, current_actor
from coordination.http.body import load_args, load_body
from coordination.http.conventions import json_response, page_request, page_response, request_uow
from coordination.runtime import runtime
from services.audit import handlers, queries
from services.audit.commands import CosignCheckpoint, EntryFilters
from services.audit.review import monthly_review

ENTRIES = "audit-entries"


@api.get("/audit/entries")
@authorize("audit.entries.list", "audit.read")
def list_audit_entries() -> Response:
    args: dict[str, Any] = load_args(EntryQuery)
    args.pop("limit", None)
    args.pop("cursor", None)
    page_req = page_request(ENTRIES)
    with runtime().session_factory() as session:
        page = queries.list_entries(session, current_actor(), EntryFilters(**args), page_req)
        return page_response([dump_entry(e) for e in page.items], page, ENTRIES)


@api.get("/audit/entries/<int:index>")
@authorize("audit.entries.read", "audit.read")
def read_audit_entry(index: int) -> Response:
    with runtime().session_factory() as session:
        return json_response(dump_entry(queries.get_entry(session, current_actor(), index)))


@api.get("/audit/checkpoint")
@authorize("audit.checkpoint.read")
def read_audit_checkpoint() -> Response:
    args: dict[str, Any] = load_args(CheckpointQuery)
    with runtime().session_factory() as session:
        view = queries.get_checkpoint(session, args.get("tree_size"))
        return json_response(dump_checkpoint(view, audit_signer().verifier().verifier_key()))


@api.post("/audit/checkpoint/cosignatures")
@authorize("audit.cosign")
def post_audit_cosignature() -> Response:
    body = load_body(CosignatureCreate)
    actor = current_actor()
    cmd = CosignCheckpoint(
        size=body["tree_size"], cosignature=body["cosignature"], verifier_key=body["verifier_key"]
    )
    result = handlers.cosign_checkpoint(cmd, request_uow(), actor)
    return json_response(dump_cosignature(result.cosignature), 201 if result.created else 200)


@api.get("/audit/key")
@authorize("audit.key.read")
def read_audit_key() -> Response:
    signer = audit_signer()
    return json_response(dump_key(signer.name, log_keys(runtime().settings), signer.public_key))


@api.get("/audit/proofs/inclusion")
@authorize("audit.proof.inclusion", "audit.read")
def audit_inclusion_proof() -> Response:
    args: dict[str, Any] = load_args(InclusionQuery)
    with runtime().session_factory() as session:
        proof = queries.prove_inclusion(
            session, current_actor(), args["index"], args.get("tree_size")
        )
        return json_response(dump_inclusion(proof))


@api.get("/audit/proofs/consistency")
@authorize("audit.proof.consistency")
def audit_consistency_proof() -> Response:
    args: dict[str, Any] = load_args(ConsistencyQuery)
    with runtime().session_factory() as session:
        proof = queries.prove_consistency(session, args["first"], args.get("second"))
        return json_response(dump_consistency(proof))


@api.get("/audit/review")
@authorize("audit.review", "audit.read")
def audit_review() -> Response:
    args: dict[str, Any] = load_args(ReviewQuery)
    with runtime().session_factory() as session:
        review = monthly_review(session, current_actor(), args["month"], runtime().clock.now())
        return json_response(dump_review(review))
