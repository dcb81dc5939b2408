"""Content items (hashes and a description, never media) and their sightings."""

from flask import Response

from coordination.api import api
from coordination.api.content.schemas import (
    ContentCreate,
    SightingCreate,
    dump_content,
    dump_sighting,
)
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
from services.content import handlers, queries
from services.content.commands import RecordSighting, RegisterContent


@api.post("/cases/<case_id>/content")
@authorize("content.register", "content.write")
@idempotent
def register_content(case_id: str) -> Response:
    cmd = RegisterContent(case_id=case_id, **load_body(ContentCreate))
    item = handlers.register_content(cmd, request_uow(), current_actor())
    return json_response(
        dump_content(item), 201, version=item.version, location=f"/v1/content/{item.id}"
    )


@api.get("/cases/<case_id>/content")
@authorize("content.list", "content.read")
def list_content(case_id: str) -> Response:
    page_req = page_request("content")
    with runtime().session_factory() as session:
        page = queries.list_case_content(session, current_actor(), case_id, page_req)
        return page_response([dump_content(item) for item in page.items], page, "content")


@api.get("/content/<content_id>")
@authorize("content.read", "content.read")
def read_content(content_id: str) -> Response:
    with runtime().session_factory() as session:
        item = queries.get_content(session, current_actor(), content_id)
        return json_response(dump_content(item), version=item.version)


@api.post("/content/<content_id>/sightings")
@authorize("sighting.record", "content.write")
@idempotent
def record_sighting(content_id: str) -> Response:
    cmd = RecordSighting(content_id=content_id, **load_body(SightingCreate))
    sighting = handlers.record_sighting(cmd, request_uow(), current_actor())
    return json_response(dump_sighting(sighting), 201)


@api.get("/content/<content_id>/sightings")
@authorize("sighting.list", "content.read")
def list_sightings(content_id: str) -> Response:
    page_req = page_request("sightings")
    with runtime().session_factory() as session:
        page = queries.list_sightings(session, current_actor(), content_id, page_req)
        return page_response([dump_sighting(s) for s in page.items], page, "sightings")
