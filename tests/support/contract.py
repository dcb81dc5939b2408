"""Every response a test receives is checked against `openapi.yaml` (openapi-core).

`Agency.request` calls `check_response` on each response, so a test that drives the API
through an agency also proves the contract describes what the API really answers: the status
is declared for the operation, and the body and headers match the declared schemas. Paths the
contract does not document are left to `test_openapi_coverage.py`, which lists them.
"""

import io
import json
import threading
from pathlib import Path
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from werkzeug.test import TestResponse
from werkzeug.wrappers import Request

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"

#: JSON media types openapi-core does not know by itself.
JSON_TYPES = (
    "application/problem+json",
    "application/jwk-set+json",
    "application/cloudevents+json",
    "application/merge-patch+json",
)

_lock = threading.Lock()
_loaded: tuple[float, OpenAPI] | None = None


class ContractViolation(AssertionError):
    """The API answered something `openapi.yaml` does not describe."""


def contract() -> OpenAPI:
    """The parsed contract, re-read when the file changes."""
    global _loaded
    stamp = SPEC_PATH.stat().st_mtime
    with _lock:
        if _loaded is None or _loaded[0] != stamp:
            config = Config(extra_media_type_deserializers=dict.fromkeys(JSON_TYPES, _json))
            _loaded = (stamp, OpenAPI.from_file_path(str(SPEC_PATH), config=config))
        return _loaded[1]


def is_documented(response: TestResponse) -> bool:
    try:
        contract().validate_response(_request(response), WerkzeugOpenAPIResponse(response))
    except (PathNotFound, OperationNotFound):
        return False
    except Exception:
        return True
    return True


def check_response(response: TestResponse) -> None:
    """Raises ContractViolation when a documented operation answered off-contract."""
    spec = contract()  # an invalid openapi.yaml fails here, as itself
    try:
        spec.validate_response(_request(response), WerkzeugOpenAPIResponse(response))
    except (PathNotFound, OperationNotFound):
        return  # undocumented: reported by the coverage test instead
    except Exception as exc:  # openapi-core raises several unrelated error types
        request = response.request
        raise ContractViolation(
            f"{request.method} {request.path} -> {response.status_code} "
            f"{response.content_type}: does not match openapi.yaml: {_describe(exc)}"
        ) from exc


def _json(raw: bytes) -> Any:
    return json.loads(raw)


def _request(response: TestResponse) -> WerkzeugOpenAPIRequest:
    """The request as openapi-core sees it, without its body: the app has read that stream
    already, and validating a response needs only the method, path and query."""
    environ = dict(response.request.environ)
    environ.update({"wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0"})
    return WerkzeugOpenAPIRequest(Request(environ))


def _describe(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    cause: Any = exc.__cause__ or exc.__context__
    while cause is not None and len(parts) < 4:
        parts.append(f"{type(cause).__name__}: {cause}")
        schema_errors = getattr(cause, "schema_errors", None)
        if schema_errors:
            parts.extend(str(getattr(e, "message", e)) for e in list(schema_errors)[:3])
        cause = cause.__cause__ or cause.__context__
    return " <- ".join(parts)
