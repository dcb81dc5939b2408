"""Request input: bodies (JSON only, at most 1 MiB, well-formed, an object) and query strings,
each loaded by a marshmallow schema. Text no database column can hold (a NUL character, half of
a UTF-16 surrogate pair) is refused where it comes: in the body or the query 422, in the path
404 (it names nothing)."""

import functools
import json
import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, request
from marshmallow import Schema
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from coordination.http.errors import ApiError

MAX_BODY_BYTES = 1024 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: How a NUL or a surrogate reaches a JSON body: only as a \u escape (raw ones are not JSON).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|d[89a-f])", re.IGNORECASE)
UNSTORABLE = "holds a NUL character or an unpaired UTF-16 surrogate"


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
    if _SUSPECT_ESCAPE.search(raw):
        _refuse_unstorable(dict(_unstorable_fields(body, "")), "body")
    return body


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")  # a lone surrogate has no UTF-8 form
    except UnicodeEncodeError:
        return False
    return True


def _unstorable_fields(value: Any, at: str) -> Iterator[tuple[str, list[str]]]:
    """(dotted name, [message]) of each string in VALUE, a key included, that no text can hold."""
    if isinstance(value, str):
        if not _storable(value):
            yield at or "body", [UNSTORABLE]
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{at}.{key}" if at else key
            if not _storable(key):
                yield (at or "body"), [UNSTORABLE]
            else:
                yield from _unstorable_fields(item, name)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _unstorable_fields(item, f"{at}.{n}")


def _refuse_unstorable(errors: dict[str, list[str]], where: str) -> None:
    if errors:
        raise ApiError(
            422,
            f"the request {where} is not valid",
            slug="validation-error",
            errors=errors,
        )


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
        if request.path.startswith("/v1/"):
            if not _storable(request.path):
                raise NotFound()  # no id holds such a character
            _refuse_unstorable(
                {name: [UNSTORABLE] for name, text in request.args.items() if not _storable(text)},
                "query",
            )
