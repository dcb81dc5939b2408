"""Request input: bodies (JSON only, at most 1 MiB, well-formed, an object) and query strings,
each loaded by a marshmallow schema."""

import functools
import json
from typing import Any

from flask import Flask, request
from marshmallow import Schema
from werkzeug.exceptions import RequestEntityTooLarge

from coordination.http.errors import ApiError

MAX_BODY_BYTES = 1024 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


@functools.cache
def _schema(schema_class: type[Schema]) -> Schema:
    """One instance per schema class: building one (a deep copy of its fields) costs more than
    a load, and `load` keeps no state on the instance, so threads share it."""
    return schema_class()


def load_body(schema_class: type[Schema]) -> dict[str, Any]:
    """The request body loaded by the schema (unknown fields are refused there)."""
    loaded: dict[str, Any] = _schema(schema_class).load(json_body())
    return loaded


def load_args(schema_class: type[Schema]) -> dict[str, Any]:
    """The query string loaded by the schema (the first value of each name)."""
    loaded: dict[str, Any] = _schema(schema_class).load(request.args.to_dict())
    return loaded


def json_body() -> dict[str, Any]:
    """The parsed body of a JSON request; a missing body counts as an empty object."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            400, "the request body is not well-formed JSON", slug="malformed-json"
        ) from None
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object", slug="malformed-json")
    return body


def init_app(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @app.before_request
    def _refuse_bad_body() -> None:
        # Checked up front, before routing answers: a client learns of the size limit at once.
        if (request.content_length or 0) > MAX_BODY_BYTES:
            raise RequestEntityTooLarge()
        # OAuth endpoints take forms by their RFCs; everything under /v1 speaks JSON only.
        if (
            request.method in BODY_METHODS
            and request.path.startswith("/v1/")
            and (request.content_length or 0) > 0
            and not is_json(request.mimetype)
        ):
            raise ApiError(415, "send the body as application/json", slug="unsupported-media-type")
