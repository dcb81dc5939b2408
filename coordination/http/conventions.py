"""The API conventions of CONTRACT section 3, as small helpers every view uses the same way.

    @api.patch("/cases/<case_id>")
    @authorize("case.update", "cases.write")
    @idempotent
    def update_case(case_id: str) -> Response:
        cmd = UpdateCase(case_id=case_id, expected_version=if_match(), **load(Schema(), ...))
        case = handlers.update_case(cmd, uow(), current_actor())
        return json_response(dump(case), version=case.version)

    @api.get("/cases")
    @authorize("case.list", "cases.read")
    def list_cases() -> Response:
        page = queries.list_cases(session, actor, filters, page_request("cases"))
        return page_response([dump(c) for c in page.items], page, "cases")

* **ETag / If-Match**: `etag(version)` is `"<version>"`; `json_response(..., version=v)` sets
  it. `if_match()` reads `If-Match` for a PATCH or a state change: missing answers 428, and it
  returns the version the client saw (None for `*`); the handler compares it with
  `services.versioning.check_version`, which raises `PreconditionFailed` (412).
* **Idempotency-Key**: decorate a write with `@idempotent` (below `@authorize`). Same key and
  request within 24 h: the first answer (status, body, ETag/Location) is replayed with
  `Idempotent-Replayed: true`; another request with the key: 422; the first still running: 409.
  Keys are per client. The answer is kept in the write's own transaction (transaction.py); if
  that is lost, the key is released.
* **Pagination**: `page_request(list_name)` reads `?limit=` (1-200, default 50) and
  `?cursor=` (opaque, signed; anything else 422) into a `services.pagination.PageRequest`;
  `page_response(items, page, list_name)` answers `{"items": [...], "next_cursor": ...}`.
"""

import functools
import logging
import re
from collections.abc import Callable
from typing import Any, ParamSpec

from flask import Response, current_app, json, make_response, request

from coordination.auth.guard import current_actor
from coordination.http.errors import ApiError
from coordination.http.request_log import request_id
from coordination.http.transaction import request_transaction
from coordination.runtime import runtime
from services.crypto import master_key_ring
from services.idempotency.handlers import (
    StoredResponse,
    claim_key,
    complete_key,
    release_key,
    request_hash,
)
from services.pagination import Page, PageRequest, check_limit, decode_cursor, encode_cursor
from services.unit_of_work import UnitOfWork

P = ParamSpec("P")
log = logging.getLogger("coordination.idempotency")

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
#: Headers of a first answer that a replay repeats.
REPLAYED_HEADERS = ("Content-Type", "ETag", "Location")
_ETAG = re.compile(r'^(?:W/)?"(\d{1,18})"$')


# ---- ETag / If-Match -----------------------------------------------------------------------


def etag(version: int) -> str:
    return f'"{version}"'


def if_match() -> int | None:
    """The version named by `If-Match` (None for `*`). Missing: 428. Unreadable: 412."""
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        raise ApiError(
            428,
            "this change needs an If-Match header with the resource's current ETag",
            slug="precondition-required",
        )
    value = header.strip()
    if value == "*":
        return None
    match = _ETAG.match(value)
    if match is None:
        raise ApiError(
            412,
            "the If-Match header matches no version of this resource",
            slug="precondition-failed",
        )
    return int(match.group(1))


def optional_if_match() -> int | None:
    """For writes where `If-Match` is welcome but not required (PUT, DELETE): None if absent."""
    if request.headers.get("If-Match") is None:
        return None
    return if_match()


def request_uow() -> UnitOfWork:
    """A unit of work in this request's transaction (transaction.py): its events carry the actor
    and the request id, and it commits with the request's access record."""
    return runtime().uow(current_actor(), request_id(), request_transaction())


def json_response(
    body: Any,
    status: int = 200,
    *,
    version: int | None = None,
    location: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    response = current_app.response_class(
        json.dumps(body), status=status, mimetype="application/json"
    )
    if version is not None:
        response.headers["ETag"] = etag(version)
    if location is not None:
        response.headers["Location"] = location
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


# ---- Idempotency-Key -----------------------------------------------------------------------


def idempotent(view: Callable[P, Any]) -> Callable[P, Response]:
    """Makes a write safe to retry with an `Idempotency-Key` (CONTRACT section 3)."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return make_response(view(*args, **kwargs))
        actor = current_actor()
        rt = runtime()
        path = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
        fingerprint = request_hash(request.method, path, request.get_data(cache=True))
        stored = claim_key(rt.uow(actor), actor.client_id, key, fingerprint)
        if stored is not None:
            replay = current_app.response_class(stored.body, status=stored.status_code)
            for name, value in stored.headers.items():
                replay.headers[name] = value
            replay.headers[REPLAYED_HEADER] = "true"
            return replay
        try:
            response = make_response(view(*args, **kwargs))
        except Exception as exc:  # turned into its problem response below
            response = make_response(current_app.handle_user_exception(exc))
        if response.status_code >= 500:
            release_key(request_uow(), actor.client_id, key)
            return response
        kept = {
            name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers
        }
        # Stored in the write's own transaction: if that is lost, so is the stored answer, and
        # the claim is released for the client's retry.
        complete_key(
            request_uow(),
            actor.client_id,
            key,
            StoredResponse(response.status_code, response.get_data(as_text=True), kept),
        )
        request_transaction().if_lost(lambda: _release_quietly(rt.uow(actor), actor.client_id, key))
        return response

    return wrapper


def _release_quietly(uow: UnitOfWork, client_id: str, key: str) -> None:
    """After a lost commit the database may well be down: the claim's lease then frees it."""
    try:
        release_key(uow, client_id, key)
    except Exception:
        log.warning("idempotency key not released", exc_info=True)


# ---- pagination ----------------------------------------------------------------------------


def cursor_secret() -> bytes:
    """Derived from the current master key, so every worker signs and checks alike (a master
    key rotation invalidates cursors handed out before it: the client starts the list again)."""
    return master_key_ring(runtime().settings.data_key_file).derive("pagination-cursor/1")


def page_request(list_name: str) -> PageRequest:
    """`?limit=` and `?cursor=` of this request, checked (422 on anything else)."""
    limit = check_limit(request.args.get("limit"))
    cursor = request.args.get("cursor")
    after = decode_cursor(cursor_secret(), list_name, cursor) if cursor else None
    return PageRequest(limit=limit, after=after)


def page_response(items: list[Any], page: Page[Any], list_name: str) -> Response:
    next_cursor = (
        encode_cursor(cursor_secret(), list_name, page.next_key)
        if page.next_key is not None
        else None
    )
    return json_response({"items": items, "next_cursor": next_cursor})
