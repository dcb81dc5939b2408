"""Re-upload matching and the monitoring schedule (issue 7)."""

import logging
import threading
from typing import Any

from flask import Flask, Response, current_app, request

from coordination.api import api
from coordination.api.monitoring.schemas import CheckCreate, HitCreate, dump_due, dump_outcome
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
from services.errors import InvalidInput
from services.monitoring import handlers, queries
from services.monitoring.commands import RecordCheck, ReportHit
from services.monitoring.index import SharedIndex

INDEX_EXTENSION = "coordination.hash_index"


def hash_index() -> SharedIndex:
    """This process's index of known hashes (one per app), refreshed before every match."""
    index: SharedIndex = current_app.extensions.setdefault(INDEX_EXTENSION, SharedIndex())
    return index


def warm_hash_index(app: Flask) -> threading.Thread:
    """Load this process's index in the background, so a server worker's first hit does not
    wait for it (a million items take seconds). A failure only leaves it to the first hit."""

    def warm() -> None:
        try:
            with app.app_context(), runtime(app).session_factory() as session:
                index: SharedIndex = app.extensions.setdefault(INDEX_EXTENSION, SharedIndex())
                index.refresh(session)
        except Exception:  # the first match loads it instead
            logging.getLogger(__name__).warning("warming the hash index failed", exc_info=True)

    thread = threading.Thread(target=warm, name="hash-index-warm-up", daemon=True)
    thread.start()
    return thread


@api.post("/content/matches")
@authorize("content.match", "content.write")
@idempotent
def report_hit() -> Response:
    actor = current_actor()
    cmd = ReportHit(**load_body(HitCreate))
    outcome = handlers.report_hit(cmd, request_uow(), actor, hash_index())
    return json_response(dump_outcome(outcome))


@api.get("/monitoring/due")
@authorize("monitoring.due", "content.read")
def monitoring_due() -> Response:
    rt = runtime()
    until = rt.clock.now()
    if "until" in request.args:
        until = _parse_time(request.args["until"], "until")
    page_req = page_request("monitoring-due")
    with rt.session_factory() as session:
        page = queries.due_checks(session, current_actor(), until=until, page=page_req)
        return page_response([dump_due(check) for check in page.items], page, "monitoring-due")


@api.post("/monitoring/checks")
@authorize("monitoring.check", "content.write")
@idempotent
def record_check() -> Response:
    actor = current_actor()
    cmd = RecordCheck(**load_body(CheckCreate))
    plan = handlers.record_monitoring_check(cmd, request_uow(), actor)
    return json_response(
        {
            "content_id": plan.content_id,
            "checks_done": plan.checks_done,
            "next_check_at": _time(plan.next_check_at),
        }
    )


def _parse_time(raw: str, name: str) -> Any:
    from marshmallow import ValidationError, fields

    try:
        return fields.AwareDateTime().deserialize(raw)
    except ValidationError:
        raise InvalidInput(
            f"{name} is not an RFC 3339 time", errors={name: ["an RFC 3339 time with offset"]}
        ) from None


def _time(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
