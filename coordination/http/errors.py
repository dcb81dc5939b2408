"""Maps every failure, ours or the framework's, to problem+json, and never leaks internals."""

import logging

from flask import Flask, Response
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from coordination.http.problems import problem
from services import errors as domain

log = logging.getLogger("coordination.errors")

DOMAIN_STATUS: dict[type[domain.DomainError], tuple[int, str]] = {
    domain.Gone: (410, "gone"),  # before NotFound, of which it is a kind
    domain.NotFound: (404, "not-found"),
    domain.InvalidInput: (422, "invalid-input"),
    domain.Conflict: (409, "conflict"),
    domain.PreconditionFailed: (412, "precondition-failed"),
    domain.Forbidden: (403, "forbidden"),
}

DB_RETRY_AFTER_S = "5"


class ApiError(Exception):
    """A web-layer refusal (bad header, bad body) raised from deep inside a view."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.errors = errors
        self.headers = headers

    def response(self) -> Response:
        return problem(
            self.status, self.detail, slug=self.slug, errors=self.errors, headers=self.headers
        )


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(domain.DomainError, _domain_error)
    app.register_error_handler(ValidationError, _validation_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(PoolTimeout, _database_unavailable)
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(Exception, _unexpected)


def _api_error(exc: ApiError) -> Response:
    return exc.response()


def _domain_error(exc: domain.DomainError) -> Response:
    status, slug = next(
        (pair for cls, pair in DOMAIN_STATUS.items() if isinstance(exc, cls)), (400, "bad-request")
    )
    return problem(status, exc.detail, slug=slug, title=exc.title, errors=exc.errors)


def _validation_error(exc: ValidationError) -> Response:
    return problem(
        422,
        "the request body is not valid",
        slug="validation-error",
        title="Validation failed",
        errors=flatten_messages(exc.messages),
    )


def flatten_messages(messages: object, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow nests messages by field; clients get one flat `field.path -> [messages]` map."""
    if isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            return {prefix or "_schema": [str(m) for m in messages]}
        flat: dict[str, list[str]] = {}
        for m in messages:
            flat.update(flatten_messages(m, prefix))
        return flat
    if isinstance(messages, dict):
        flat = {}
        for key, value in messages.items():
            flat.update(flatten_messages(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix or "_schema": [str(messages)]}


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    detail = {
        404: "no such resource",
        405: "this method is not allowed on this resource",
        413: "the request body is larger than 1 MiB",
    }.get(status, exc.description or "")
    headers = {}
    valid_methods = getattr(exc, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(sorted(valid_methods))
    return problem(status, detail, headers=headers)


def _database_unavailable(exc: Exception) -> Response:
    log.warning("database unavailable: %s", type(exc).__name__)
    return problem(
        503,
        "the database is not reachable; nothing was changed, try again shortly",
        slug="database-unavailable",
        headers={"Retry-After": DB_RETRY_AFTER_S},
    )


def _database_error(exc: DBAPIError) -> Response:
    if exc.connection_invalidated:
        return _database_unavailable(exc)
    return _unexpected(exc)


def _unexpected(exc: Exception) -> Response:
    # The traceback goes to the log (which holds no request bodies); the client sees nothing of it.
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "an internal error occurred; it has been logged", slug="internal-error")
