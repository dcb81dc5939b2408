"""The scope matrix: every /v1 operation declares its action and scopes with `authorize`, and
answers 403 insufficient_scope without each of its scopes and passes the guard with them."""

from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter, Rule

from coordination.auth.guard import ACTION_ATTR, SCOPES_ATTR
from coordination.auth.state import auth_state
from coordination.auth.tokens import issue_access_token
from coordination.config import Settings
from tests.support.agencies import Agencies, Agency

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PLACEHOLDER_ID = "01J00000000000000000000000"


def v1_operations(app: Flask) -> list[tuple[Rule, str]]:
    return sorted(
        (
            (rule, method)
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/v1")
            for method in sorted(rule.methods or ())
            if method in METHODS
        ),
        key=lambda pair: (pair[0].rule, pair[1]),
    )


def declared(app: Flask, rule: Rule) -> dict[str, Any]:
    return dict(getattr(app.view_functions[rule.endpoint], "__dict__", {}))


def url_for_rule(app: Flask, rule: Rule) -> str:
    values: dict[str, Any] = {}
    for name in rule.arguments:
        converter = rule._converters.get(name)
        values[name] = 1 if isinstance(converter, IntegerConverter) else PLACEHOLDER_ID
    adapter = app.url_map.bind("localhost")
    return str(adapter.build(rule.endpoint, values))


def test_every_v1_view_declares_its_action_and_scopes(app: Flask) -> None:
    operations = v1_operations(app)
    assert operations, "no /v1 routes are registered"
    undeclared = sorted(
        {
            f"{rule.rule} ({rule.endpoint})"
            for rule, _ in operations
            if ACTION_ATTR not in declared(app, rule) or SCOPES_ATTR not in declared(app, rule)
        }
    )
    assert not undeclared, "views without @authorize(...):\n  " + "\n  ".join(undeclared)


def test_declared_scopes_are_scopes_of_the_contract(app: Flask) -> None:
    from services.clients.scopes import ALL_SCOPES

    unknown = {
        f"{rule.rule}: {sorted(declared(app, rule)[SCOPES_ATTR] - ALL_SCOPES)}"
        for rule, _ in v1_operations(app)
        if declared(app, rule).get(SCOPES_ATTR, frozenset()) - ALL_SCOPES
    }
    assert not unknown


@pytest.fixture
def center(agencies: Agencies) -> Agency:
    return agencies.new("support_center")


def token_with(app: Flask, settings: Settings, agency: Agency, scopes: set[str]) -> str:
    token, _ = issue_access_token(
        auth_state(app).keys,
        settings,
        client_id=agency.client_id,
        org=agency.org,
        org_kind=agency.kind,
        scope=" ".join(sorted(scopes)),
    )
    return token


def call(app: Flask, rule: Rule, method: str, agency: Agency, token: str) -> Any:
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return agency.request(
        method,
        url_for_rule(app, rule),
        headers={"Authorization": f"Bearer {token}"},
        check_contract=False,  # placeholder ids and empty bodies: only the guard is under test
        **body,
    )


def insufficient_scope(response: Any) -> bool:
    return response.status_code == 403 and "insufficient_scope" in response.headers.get(
        "WWW-Authenticate", ""
    )


def test_each_operation_is_refused_without_each_of_its_scopes(
    app: Flask, settings: Settings, center: Agency
) -> None:
    everything = set(center.scope.split())
    failures = []
    checked = 0
    for rule, method in v1_operations(app):
        for scope in sorted(declared(app, rule).get(SCOPES_ATTR, ())):
            token = token_with(app, settings, center, everything - {scope})
            response = call(app, rule, method, center, token)
            checked += 1
            if not insufficient_scope(response):
                failures.append(f"{method} {rule.rule} without {scope}: {response.status_code}")
    assert checked, "no /v1 operation declares a scope"
    assert not failures, "\n".join(failures)


def test_each_operation_passes_the_guard_with_exactly_its_scopes(
    app: Flask, settings: Settings, center: Agency
) -> None:
    failures = []
    for rule, method in v1_operations(app):
        needed = set(declared(app, rule).get(SCOPES_ATTR, ()))
        response = call(app, rule, method, center, token_with(app, settings, center, needed))
        if response.status_code == 401 or insufficient_scope(response):
            failures.append(f"{method} {rule.rule} with {sorted(needed)}: {response.status_code}")
    assert not failures, "\n".join(failures)
