"""Support services delivered to a victim: what the statistics count."""

from flask import Response

from coordination.api import api
from coordination.api.services.schemas import ServiceCreate, dump_service
from coordination.auth.guard import authorize, current_actor
from coordination.http.body import load_body
from coordination.http.conventions import (
    idempotent,
    json_response,
    page_request,
    page_response,
    request_uow,
)
from coordination.runtime import runtime
from services.support import handlers, queries
from services.support.commands import RecordService


@api.post("/cases/<case_id>/services")
@authorize("service.record", "services.write")
@idempotent
def record_service(case_id: str) -> Response:
    body = load_body(ServiceCreate)
    actor = current_actor()
    service = handlers.record_service(RecordService(case_id=case_id, **body), request_uow(), actor)
    return json_response(dump_service(service), 201)


@api.get("/cases/<case_id>/services")
@authorize("service.list", "cases.read")
def list_services(case_id: str) -> Response:
    page_req = page_request("services")
    with runtime().session_factory() as session:
        page = queries.list_services(session, current_actor(), case_id, page_req)
        return page_response([dump_service(s) for s in page.items], page, "services")
