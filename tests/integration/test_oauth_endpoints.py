"""JWKS, RFC 8414 metadata, introspection (RFC 7662), revocation (RFC 7009), key rotation."""

import dataclasses
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from coordination.app import create_app
from coordination.auth.keys import LEEWAY_S
from coordination.auth.state import auth_state
from coordination.config import Settings
from coordination.runtime import runtime
from services.clients.commands import DisableClient
from services.clients.handlers import disable_client
from tests.support.agencies import Agencies, Agency, basic_auth

PROBE = "/v1/oauth-endpoints-probe"


def introspect(client: FlaskClient, caller: Agency, token: str) -> dict[str, object]:
    response = client.post(
        "/oauth/introspect",
        data={"token": token},
        headers={"Authorization": basic_auth(caller.client_id, caller.client_secret)},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json is not None
    return dict(response.json)


def revoke(client: FlaskClient, caller: Agency, token: str) -> int:
    response = client.post(
        "/oauth/revoke",
        data={"token": token, "token_type_hint": "access_token"},
        headers={"Authorization": basic_auth(caller.client_id, caller.client_secret)},
    )
    return response.status_code


# -- JWKS and metadata ----------------------------------------------------------------------


def test_jwks_lists_the_current_public_key_only(client: FlaskClient, app: Flask) -> None:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.content_type == "application/jwk-set+json"
    keys = response.json["keys"]  # type: ignore[index]
    current = auth_state(app).keys.current()
    assert current.kid in {k["kid"] for k in keys}
    for key in keys:
        assert key["kty"] == "EC"
        assert key["crv"] == "P-256"
        assert key["alg"] == "ES256"
        assert key["use"] == "sig"
        assert "d" not in key  # never the private part


def test_jwks_verifies_issued_tokens(client: FlaskClient, agencies: Agencies) -> None:
    police = agencies.new("police")
    keys = client.get("/.well-known/jwks.json").json["keys"]  # type: ignore[index]
    kid = jwt.get_unverified_header(police.token)["kid"]
    key = jwt.PyJWK(next(k for k in keys if k["kid"] == kid))
    claims = jwt.decode(
        police.token, key, algorithms=["ES256"], audience="http://coordination.test/v1"
    )
    assert claims["client_id"] == police.client_id


def test_metadata_follows_rfc8414(client: FlaskClient, settings: Settings) -> None:
    response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    meta = response.json
    assert meta is not None
    assert meta["issuer"] == settings.issuer
    assert meta["token_endpoint"] == settings.issuer + "/oauth/token"
    assert meta["jwks_uri"] == settings.issuer + "/.well-known/jwks.json"
    assert meta["introspection_endpoint"] == settings.issuer + "/oauth/introspect"
    assert meta["revocation_endpoint"] == settings.issuer + "/oauth/revoke"
    assert meta["grant_types_supported"] == ["client_credentials"]
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "private_key_jwt",
    }
    algorithms = set(meta["token_endpoint_auth_signing_alg_values_supported"])
    assert "ES256" in algorithms
    assert not {a for a in algorithms if a.startswith("HS") or a.lower() == "none"}
    assert "cases.write" in meta["scopes_supported"]
    assert len(meta["scopes_supported"]) == 12


# -- introspection --------------------------------------------------------------------------


def test_introspection_describes_an_active_token_of_the_callers_org(
    client: FlaskClient, agencies: Agencies
) -> None:
    police = agencies.new("police")
    body = introspect(client, police, police.token)
    assert body["active"] is True
    assert body["client_id"] == police.client_id
    assert body["org"] == police.org
    assert body["org_kind"] == "police"
    assert body["scope"] == police.scope
    assert body["token_type"] == "Bearer"


def test_introspection_hides_tokens_of_other_orgs(client: FlaskClient, agencies: Agencies) -> None:
    police = agencies.new("police")
    center = agencies.new("support_center")
    assert introspect(client, police, center.token) == {"active": False}


def test_introspection_of_garbage_is_inactive(client: FlaskClient, agencies: Agencies) -> None:
    police = agencies.new("police")
    assert introspect(client, police, "not-a-token") == {"active": False}


def test_introspection_of_a_revoked_token_is_inactive(
    client: FlaskClient, agencies: Agencies
) -> None:
    police = agencies.new("police")
    assert revoke(client, police, police.token) == 200
    assert introspect(client, police, police.token) == {"active": False}


def test_introspection_of_a_disabled_clients_token_is_inactive(
    client: FlaskClient, agencies: Agencies, rt: object
) -> None:
    police = agencies.new("police")
    sibling = agencies.client_of(police.org, "police")
    disable_client(DisableClient(police.client_id), runtime(client.application).uow())
    assert introspect(client, sibling, police.token) == {"active": False}


def test_introspection_needs_client_authentication(client: FlaskClient, agencies: Agencies) -> None:
    police = agencies.new("police")
    response = client.post("/oauth/introspect", data={"token": police.token})
    assert response.status_code == 401
    assert response.json == {
        "error": "invalid_client",
        "error_description": response.json["error_description"],  # type: ignore[index]
    }


def test_bearer_token_cannot_stand_in_for_client_authentication(
    client: FlaskClient, agencies: Agencies
) -> None:
    police = agencies.new("police")
    response = client.post(
        "/oauth/introspect",
        data={"token": police.token},
        headers={"Authorization": f"Bearer {police.token}"},
    )
    assert response.status_code == 401


# -- revocation -----------------------------------------------------------------------------


def test_revocation_always_answers_200(client: FlaskClient, agencies: Agencies) -> None:
    police = agencies.new("police")
    assert revoke(client, police, "garbage") == 200
    assert revoke(client, police, police.token) == 200
    assert revoke(client, police, police.token) == 200  # twice is harmless


def test_revoking_another_clients_token_does_nothing(
    client: FlaskClient, agencies: Agencies
) -> None:
    police = agencies.new("police")
    center = agencies.new("support_center")
    assert revoke(client, police, center.token) == 200
    assert center.get(PROBE).status_code == 404


def test_revoked_token_is_refused_on_the_next_request(
    client: FlaskClient, agencies: Agencies
) -> None:
    police = agencies.new("police")
    assert police.get(PROBE).status_code == 404
    assert revoke(client, police, police.token) == 200
    refused = police.get(PROBE)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


def test_revocation_needs_client_authentication(client: FlaskClient, agencies: Agencies) -> None:
    police = agencies.new("police")
    response = client.post("/oauth/revoke", data={"token": police.token})
    assert response.status_code == 401
    assert police.get(PROBE).status_code == 404  # not revoked


# -- the signing key file and its rotation -----------------------------------------------------


@pytest.fixture
def own_keys_app(settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    """An app with a key file of its own, so rotating it disturbs no other test."""
    app = create_app(
        dataclasses.replace(settings, signing_key_file=tmp_path / "keys" / "signing.json")
    )
    yield app
    runtime(app).engine.dispose()


def test_signing_key_file_is_created_on_start_for_the_owner_only(own_keys_app: Flask) -> None:
    path = runtime(own_keys_app).settings.signing_key_file
    assert path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_signing_key_survives_a_restart(own_keys_app: Flask, settings: Settings) -> None:
    path = runtime(own_keys_app).settings.signing_key_file
    kid = auth_state(own_keys_app).keys.current().kid
    again = create_app(dataclasses.replace(settings, signing_key_file=path))
    try:
        assert auth_state(again).keys.current().kid == kid
    finally:
        runtime(again).engine.dispose()


def test_rotation_keeps_the_old_key_until_its_tokens_have_expired(own_keys_app: Flask) -> None:
    client = own_keys_app.test_client()
    agencies = Agencies(client, runtime(own_keys_app))
    police = agencies.new("police")
    keys = auth_state(own_keys_app).keys
    old_kid = keys.current().kid

    new = keys.rotate()

    assert new.kid != old_kid
    published = {k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]}  # type: ignore[index]
    assert published == {old_kid, new.kid}
    # The old token still works; new tokens are signed with the new key.
    assert police.get(PROBE).status_code == 404
    assert jwt.get_unverified_header(police.new_token())["kid"] == new.kid

    # Once every token the old key signed has expired (lifetime + leeway), it goes.
    age_keys_file(keys.path, old_kid, retired_seconds_ago=600 + LEEWAY_S + 1)
    published = {k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]}  # type: ignore[index]
    assert published == {new.kid}
    assert police.get(PROBE).status_code == 401


def test_rotation_again_drops_keys_past_their_time(own_keys_app: Flask) -> None:
    keys = auth_state(own_keys_app).keys
    first = keys.current().kid
    second = keys.rotate().kid
    age_keys_file(keys.path, first, retired_seconds_ago=10_000)
    third = keys.rotate().kid
    stored = {k["kid"] for k in json.loads(keys.path.read_text())["keys"]}
    assert stored == {second, third}


def test_rotation_by_another_process_reaches_a_running_app(own_keys_app: Flask) -> None:
    """`coordination keys rotate` writes the file; the running app reads it on its next use."""
    from coordination.auth.keys import KeyStore

    running = auth_state(own_keys_app).keys
    before = running.current().kid
    other_process = KeyStore(running.path, 600)
    other_process.ensure()
    rotated = other_process.rotate()
    assert rotated.kid != before
    assert running.current().kid == rotated.kid


def age_keys_file(path: Path, kid: str, *, retired_seconds_ago: int) -> None:
    """Moves a retired key's retirement into the past, as if that much time had gone by."""
    document = json.loads(path.read_text())
    for entry in document["keys"]:
        if entry["kid"] == kid:
            entry["retired_at"] = int(time.time()) - retired_seconds_ago
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
