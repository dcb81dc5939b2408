"""Every route under /v1, /oauth and /.well-known is documented in openapi.yaml with the same
methods, and openapi.yaml documents no route there that does not exist."""

import re

import yaml
from flask import Flask

from tests.support.contract import SPEC_PATH

PREFIXES = ("/v1", "/oauth", "/.well-known")
METHODS = {"get", "put", "post", "delete", "patch"}
_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def routed(app: Flask) -> dict[str, set[str]]:
    """`/v1/cases/<id>` -> `/v1/cases/{id}`, with the methods the app answers there."""
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIXES):
            continue
        path = _PARAM.sub(r"{\1}", rule.rule)
        found.setdefault(path, set()).update(
            m.lower() for m in rule.methods or () if m.lower() in METHODS
        )
    return found


def documented() -> dict[str, set[str]]:
    paths = yaml.safe_load(SPEC_PATH.read_text())["paths"]
    return {
        path: {m for m in operations if m in METHODS}
        for path, operations in paths.items()
        if path.startswith(PREFIXES)
    }


def _shape(path: str) -> str:
    """Parameter names may differ between the code and the contract; positions may not."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_route_is_documented_with_its_methods(app: Flask) -> None:
    docs = {_shape(p): (p, m) for p, m in documented().items()}
    missing = []
    for path, methods in sorted(routed(app).items()):
        _, declared = docs.get(_shape(path), (path, set()))
        for method in sorted(methods - declared):
            missing.append(f"{method.upper()} {path}")
    assert not missing, "routes missing from openapi.yaml:\n  " + "\n  ".join(missing)


def test_openapi_documents_no_route_that_does_not_exist(app: Flask) -> None:
    routes = {_shape(p): m for p, m in routed(app).items()}
    extra = []
    for path, methods in sorted(documented().items()):
        for method in sorted(methods - routes.get(_shape(path), set())):
            extra.append(f"{method.upper()} {path}")
    assert not extra, "openapi.yaml documents routes the app lacks:\n  " + "\n  ".join(extra)


def test_oauth_operations_are_documented(app: Flask) -> None:
    """The part this workstream owns, asserted on its own so it never hides behind others'."""
    docs = documented()
    assert docs["/oauth/token"] == {"post"}
    assert docs["/oauth/introspect"] == {"post"}
    assert docs["/oauth/revoke"] == {"post"}
    assert docs["/.well-known/jwks.json"] == {"get"}
    assert docs["/.well-known/oauth-authorization-server"] == {"get"}


def test_security_scheme_lists_every_scope_of_the_contract() -> None:
    from services.clients.scopes import ALL_SCOPES

    spec = yaml.safe_load(SPEC_PATH.read_text())
    flow = spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    assert set(flow["scopes"]) == ALL_SCOPES


def test_openapi_is_a_valid_openapi_31_document() -> None:
    from openapi_spec_validator import validate

    validate(yaml.safe_load(SPEC_PATH.read_text()))


def test_contract_checker_refuses_an_undeclared_status(app: Flask) -> None:
    """The checker behind every Agency request is not a rubber stamp."""
    import pytest

    from tests.support.contract import ContractViolation, check_response

    response = app.test_client().get("/.well-known/jwks.json")
    check_response(response)
    response.status_code = 201
    with pytest.raises(ContractViolation, match="201"):
        check_response(response)


def test_contract_checker_refuses_a_body_off_its_schema(app: Flask) -> None:
    import json

    import pytest

    from tests.support.contract import ContractViolation, check_response

    response = app.test_client().get("/.well-known/oauth-authorization-server")
    body = response.json
    assert body is not None
    response.set_data(json.dumps({**body, "issuer": 42}))
    with pytest.raises(ContractViolation, match=r"issuer|42"):
        check_response(response)
