"""/v1/cases and /v1/cases/{id}/victim: thin views over the case and identity use cases."""

from typing import Any

from flask import Response

from coordination.api import api
from coordination.api.cases.schemas import (
    CaseCreateIn,
    CaseListArgs,
    CasePatchIn,
    VictimIdentityIn,
    case_json,
    identity_json,
)
from coordination.auth.guard import authorize, current_actor
from coordination.http.body import load_args, load_body
from coordination.http.conventions import (
    idempotent,
    if_match,
    json_response,
    optional_if_match,
    page_request,
    page_response,
    request_uow,
)
from coordination.runtime import runtime
from services.cases import handlers, queries
from services.cases.commands import CaseFilters, OpenCase, UpdateCase
from services.crypto import MasterKeyRing, master_key_ring
from services.victims import handlers as victims
from services.victims.commands import EraseIdentity, RecordIdentity


def _keys() -> MasterKeyRing:
    return master_key_ring(runtime().settings.data_key_file)


@api.post("/cases")
@authorize("case.create", "cases.write")
@idempotent
def open_case() -> Response:
    body = load_body(CaseCreateIn)
    victim = body.get("victim") or {}
    case = handlers.open_case(
        OpenCase(harm_types=body["harm_types"], age_band=victim.get("age_band", "unknown")),
        request_uow(),
        current_actor(),
    )
    return json_response(
        case_json(case), 201, version=case.version, location=f"/v1/cases/{case.id}"
    )


@api.get("/cases")
@authorize("case.list", "cases.read")
def list_cases() -> Response:
    args: dict[str, Any] = load_args(CaseListArgs)
    page_req = page_request("cases")
    with runtime().session_factory() as session:
        page = queries.list_cases(
            session,
            current_actor(),
            CaseFilters(status=args.get("status"), harm_type=args.get("harm_type")),
            page_req,
        )
        return page_response([case_json(c) for c in page.items], page, "cases")


@api.get("/cases/<case_id>")
@authorize("case.read", "cases.read")
def read_case(case_id: str) -> Response:
    with runtime().session_factory() as session:
        case = queries.get_case(session, current_actor(), case_id)
        return json_response(case_json(case), version=case.version)


@api.patch("/cases/<case_id>")
@authorize("case.update", "cases.write")
@idempotent
def update_case(case_id: str) -> Response:
    expected = if_match()
    body = load_body(CasePatchIn)
    case = handlers.update_case(
        UpdateCase(
            case_id=case_id,
            expected_version=expected,
            harm_types=body.get("harm_types"),
            age_band=(body.get("victim") or {}).get("age_band"),
            status=body.get("status"),
        ),
        request_uow(),
        current_actor(),
    )
    return json_response(case_json(case), version=case.version)


@api.get("/cases/<case_id>/victim")
@authorize("victim.read", "pii.read")
def read_victim(case_id: str) -> Response:
    with runtime().session_factory() as session:
        identity = victims.read_identity(session, current_actor(), case_id, _keys())
    return json_response(identity_json(identity), version=identity.version, headers=_private())


@api.put("/cases/<case_id>/victim")
@authorize("victim.write", "pii.write")
@idempotent
def record_victim(case_id: str) -> Response:
    expected = optional_if_match()
    body = load_body(VictimIdentityIn)
    identity = victims.record_identity(
        RecordIdentity(case_id=case_id, identity=body, expected_version=expected),
        request_uow(),
        current_actor(),
        _keys(),
    )
    return json_response(identity_json(identity), version=identity.version, headers=_private())


@api.delete("/cases/<case_id>/victim")
@authorize("victim.erase", "pii.write")
@idempotent
def erase_victim(case_id: str) -> Response:
    victims.erase_identity(
        EraseIdentity(case_id=case_id, expected_version=optional_if_match()),
        request_uow(),
        current_actor(),
    )
    return Response(status=204)


def _private() -> dict[str, str]:
    return {"Cache-Control": "no-store"}
