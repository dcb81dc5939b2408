"""Schemathesis over openapi.yaml: requests generated from the spec for every operation, each sent
with a real token of every org kind. No answer may be a 5xx, and every answer must be in the
spec (status code, content type, headers, body). Bounded so CI stays quick: FUZZ_EXAMPLES cases
per operation (default 3), each sent once per org kind; raise it for a longer hunt."""

import dataclasses
import os
from collections.abc import Iterator

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from coordination.app import create_app
from coordination.config import Settings
from coordination.runtime import runtime
from services.clients.scopes import ALLOWED_BY_KIND
from tests.support.agencies import Agencies
from tests.support.contract import SPEC_PATH

SCHEMA = schemathesis.openapi.from_path(SPEC_PATH)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzzed_app(settings: Settings) -> Iterator[Flask]:
    """The service without its per-client rate limit, so the cases reach the views (a 429 is
    in the spec, but would answer most of them)."""
    app = create_app(dataclasses.replace(settings, rate_limit_per_s=1e6, rate_limit_burst=10**6))
    yield app
    runtime(app).engine.dispose()


@pytest.fixture(scope="module")
def tokens(fuzzed_app: Flask) -> dict[str, str]:
    """A bearer token of each org kind, holding every scope that kind may hold."""
    agencies = Agencies(fuzzed_app.test_client(), runtime(fuzzed_app))
    return {kind: agencies.new(kind).token for kind in ALLOWED_BY_KIND}


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_generated_requests_are_answered_within_the_spec(
    operation: schemathesis.APIOperation, fuzzed_app: Flask, tokens: dict[str, str]
) -> None:
    secured = operation.definition.raw.get("security", SCHEMA.raw_schema.get("security")) != []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same cases on every run: a failure is reproducible
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def each_kind(case: Case) -> None:
        for token in tokens.values() if secured else [""]:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            case.call_and_validate(app=fuzzed_app, headers=headers, checks=CHECKS)

    each_kind()
