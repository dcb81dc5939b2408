"""Every `/v1` request leaves an access record on `coordination.audit` (through the outbox).

Reads and refusals too (401, 403, the policy's 404, 429). The record holds the action the view
declares (`authorize`), "unknown" when nothing was routed, and the resource as the route
template filled with the path's ids: never a query string, a body or an unrouted raw path.
It is written after the response is made and before it is sent. A write's record is committed
in the write's own transaction (transaction.py): if that commit fails, the answer becomes the
failure, recorded as such. Every other record goes to the process's group-commit writer
(services/access_records/writer.py): concurrent requests' records share one transaction, and
each request waits for its own record's commit. A failure to write one is logged (the request
has already been handled) and counted.
"""

import logging
import re
from dataclasses import replace

from flask import Flask, Response, current_app, g, make_response, request
from prometheus_client import Counter

from coordination.auth.guard import API_PREFIX
from coordination.http.request_log import request_id
from coordination.http.transaction import pending_transaction
from coordination.runtime import runtime
from services.access_records.commands import RecordAccess
from services.access_records.handlers import record_accesses
from services.access_records.writer import GroupCommitWriter
from services.actor import Actor

log = logging.getLogger("coordination.access_records")

_PLACEHOLDER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
RESOURCE_MAX = 120
NOT_WRITTEN = Counter("coordination_access_records_failed_total", "Access records not written")


def resource() -> str:
    rule = request.url_rule
    if rule is None:
        return "unrouted"
    args = request.view_args or {}
    filled = _PLACEHOLDER.sub(lambda m: str(args.get(m.group(1), m.group(0))), rule.rule)
    return filled[:RESOURCE_MAX]


def case_id() -> str:
    args = request.view_args or {}
    value = args.get("case_id")
    rule = request.url_rule
    if value is None and rule is not None and rule.rule.startswith(f"{API_PREFIX}/cases/<"):
        value = next(iter(args.values()), None)
    return str(value)[:64] if value else ""


def init_app(app: Flask) -> None:
    rt = runtime(app)
    writer: GroupCommitWriter[RecordAccess] = GroupCommitWriter(
        lambda cmds: record_accesses(cmds, rt.uow()), name="access-records"
    )

    @app.after_request
    def _record_access(response: Response) -> Response:
        path = request.path
        if path != API_PREFIX and not path.startswith(API_PREFIX + "/"):
            return response
        actor = g.get("actor")
        cmd = RecordAccess(
            org=actor.org if isinstance(actor, Actor) else "",
            client_id=actor.client_id if isinstance(actor, Actor) else "",
            action=str(g.get("action") or "unknown"),
            resource=resource(),
            status=response.status_code,
            request_id=request_id(),
            method=request.method,
            case_id=case_id(),
        )
        written = pending_transaction()
        if written is not None:
            try:
                record_accesses([cmd], rt.uow(joins=written))
                written.commit()
                return response
            except Exception as exc:  # the write is lost: undone, and the client told so
                written.abandon()
                response = make_response(current_app.handle_user_exception(exc))
                cmd = replace(cmd, status=response.status_code)
        try:
            writer.write(cmd)
        except Exception:
            NOT_WRITTEN.inc()
            log.exception(
                "access record not written", extra={"fields": {"request_id": cmd.request_id}}
            )
        return response
