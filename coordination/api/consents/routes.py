"""/v1/cases/{id}/consents and /v1/consents/{id}: recording and revoking consent."""

from flask import Response

from coordination.api import api
from coordination.api.consents.schemas import ConsentGrantIn, ConsentRevokeIn, consent_json
from coordination.auth.guard import authorize, current_actor
from coordination.http.body import load_body
from coordination.http.conventions import (
    idempotent,
    if_match,
    json_response,
    page_request,
    page_response,
    request_uow,
)
from coordination.runtime import runtime
from services.consents import handlers, queries
from services.consents.commands import GrantConsent, RevokeConsent


@api.post("/cases/<case_id>/consents")
@authorize("consent.grant", "cases.write")
@idempotent
def grant_consent(case_id: str) -> Response:
    body = load_body(ConsentGrantIn)
    consent = handlers.grant_consent(
        GrantConsent(case_id=case_id, **body), request_uow(), current_actor()
    )
    return json_response(
        consent_json(consent), 201, version=consent.version, location=f"/v1/consents/{consent.id}"
    )


@api.get("/cases/<case_id>/consents")
@authorize("consent.list", "cases.read")
def list_consents(case_id: str) -> Response:
    page_req = page_request("consents")
    with runtime().session_factory() as session:
        page = queries.list_consents(session, current_actor(), case_id, page_req)
        return page_response([consent_json(c) for c in page.items], page, "consents")


@api.get("/consents/<consent_id>")
@authorize("consent.read", "cases.read")
def read_consent(consent_id: str) -> Response:
    with runtime().session_factory() as session:
        consent = queries.get_consent(session, current_actor(), consent_id)
        return json_response(consent_json(consent), version=consent.version)


@api.post("/consents/<consent_id>/revoke")
@authorize("consent.revoke", "cases.write")
@idempotent
def revoke_consent(consent_id: str) -> Response:
    expected = if_match()
    body = load_body(ConsentRevokeIn)
    consent = handlers.revoke_consent(
        RevokeConsent(consent_id=consent_id, expected_version=expected, **body),
        request_uow(),
        current_actor(),
    )
    return json_response(consent_json(consent), version=consent.version)
