"""The token endpoint: who may get a token, for which scopes, and how failures are limited."""

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from jwcrypto import jwk
from jwcrypto import jwt as jwcrypto_jwt
from sqlalchemy import select
from werkzeug.test import TestResponse

from coordination.auth.state import CLIENT_FAILURE_BURST, auth_state
from coordination.config import Settings
from coordination.runtime import Runtime
from services.clients.commands import CreateClient, DisableClient, RotateSecret
from services.clients.handlers import create_client, disable_client, rotate_secret
from services.clients.models import OAuthClient
from services.errors import InvalidInput
from services.orgs.commands import CreateOrg
from services.orgs.handlers import create_org
from tests.conftest import unique
from tests.support.agencies import Agencies, basic_auth

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ISSUER = "http://coordination.test"
TOKEN_URL = ISSUER + "/oauth/token"


def fresh_address() -> str:
    """Each test that fails on purpose does so from its own address, so the per-address limit of
    failed authentications of one test never spills into another."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


def request_token(
    client: FlaskClient,
    form: dict[str, str] | None = None,
    *,
    auth: str | None = None,
    address: str | None = None,
) -> TestResponse:
    headers = {"Authorization": auth} if auth else {}
    return client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", **(form or {})},
        headers=headers,
        environ_base={"REMOTE_ADDR": address or fresh_address()},
    )


def assert_oauth_error(response: TestResponse, error: str, status: int | None = None) -> None:
    assert response.json is not None, response.get_data(as_text=True)
    assert response.json.get("error") == error, response.get_data(as_text=True)
    if status is not None:
        assert response.status_code == status
    assert "access_token" not in response.json


# -- client_secret_basic ----------------------------------------------------------------------


def test_client_secret_basic_gets_an_rfc9068_access_token(
    client: FlaskClient, agencies: Agencies, settings: Settings, app: Flask
) -> None:
    police = agencies.new("police")
    response = request_token(client, auth=basic_auth(police.client_id, police.client_secret))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body is not None
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == police.scope
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    assert header["kid"] == auth_state(app).keys.current().kid
    claims = jwt.decode(
        body["access_token"],
        auth_state(app).keys.current().public_key,
        algorithms=["ES256"],
        audience=settings.api_audience,
        issuer=ISSUER,
    )
    assert claims["sub"] == claims["client_id"] == police.client_id
    assert claims["org"] == police.org
    assert claims["org_kind"] == "police"
    assert claims["scope"] == police.scope
    assert claims["exp"] - claims["iat"] == 600
    assert claims["jti"]
    assert claims["aud"] == ISSUER + "/v1"


def test_every_token_has_its_own_jti(client: FlaskClient, agencies: Agencies) -> None:
    police = agencies.new("police")
    tokens = {police.new_token() for _ in range(3)}
    jtis = {jwt.decode(t, options={"verify_signature": False})["jti"] for t in tokens}
    assert len(jtis) == 3


def test_wrong_secret_is_invalid_client(client: FlaskClient, agencies: Agencies) -> None:
    police = agencies.new("police")
    response = request_token(client, auth=basic_auth(police.client_id, police.client_secret + "x"))
    assert_oauth_error(response, "invalid_client", 401)
    assert response.headers["WWW-Authenticate"].lower().startswith("basic")


def test_unknown_client_is_invalid_client(client: FlaskClient) -> None:
    response = request_token(client, auth=basic_auth("no-such-client", "whatever"))
    assert_oauth_error(response, "invalid_client", 401)


def test_request_without_client_authentication_is_invalid_client(client: FlaskClient) -> None:
    assert_oauth_error(request_token(client), "invalid_client", 401)


def test_secret_in_the_form_body_is_not_accepted(client: FlaskClient, agencies: Agencies) -> None:
    police = agencies.new("police")
    response = request_token(
        client, {"client_id": police.client_id, "client_secret": police.client_secret}
    )
    assert_oauth_error(response, "invalid_client", 401)


def test_disabled_client_gets_no_token(
    client: FlaskClient, agencies: Agencies, rt: Runtime
) -> None:
    police = agencies.new("police")
    disable_client(DisableClient(police.client_id), rt.uow())
    response = request_token(client, auth=basic_auth(police.client_id, police.client_secret))
    assert_oauth_error(response, "invalid_client", 401)


@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "refresh_token", ""])
def test_other_grant_types_are_refused(
    client: FlaskClient, agencies: Agencies, grant_type: str
) -> None:
    police = agencies.new("police")
    response = request_token(
        client,
        {"grant_type": grant_type, "username": "u", "password": "p", "code": "c"},
        auth=basic_auth(police.client_id, police.client_secret),
    )
    assert response.status_code == 400
    assert response.json is not None
    assert response.json["error"] in ("unsupported_grant_type", "invalid_request")
    assert "access_token" not in response.json


# -- scopes ---------------------------------------------------------------------------------


def test_token_can_be_asked_for_fewer_scopes(client: FlaskClient, agencies: Agencies) -> None:
    police = agencies.new("police")
    response = request_token(
        client,
        {"scope": "referrals.read cases.read"},
        auth=basic_auth(police.client_id, police.client_secret),
    )
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["scope"] == "cases.read referrals.read"
    claims = jwt.decode(response.json["access_token"], options={"verify_signature": False})
    assert claims["scope"] == "cases.read referrals.read"


@pytest.mark.parametrize(
    ("kind", "scope"),
    [
        ("police", "cases.write"),
        ("police", "pii.write"),
        ("police", "audit.read"),
        ("auditor", "cases.read"),
        ("auditor", "pii.read"),
        ("platform", "cases.read"),
        ("standards_commission", "pii.read"),
    ],
)
def test_scope_beyond_the_org_kind_is_invalid_scope_at_the_token_endpoint(
    client: FlaskClient, agencies: Agencies, kind: str, scope: str
) -> None:
    agency = agencies.new(kind)
    response = request_token(
        client,
        {"scope": f"{scope}"},
        auth=basic_auth(agency.client_id, agency.client_secret),
    )
    assert_oauth_error(response, "invalid_scope", 400)


def test_scope_beyond_the_client_is_invalid_scope(client: FlaskClient, agencies: Agencies) -> None:
    center = agencies.new("support_center", scopes="cases.read")
    response = request_token(
        client,
        {"scope": "cases.read cases.write"},
        auth=basic_auth(center.client_id, center.client_secret),
    )
    assert_oauth_error(response, "invalid_scope", 400)


def test_unknown_scope_is_invalid_scope(client: FlaskClient, agencies: Agencies) -> None:
    center = agencies.new("support_center")
    response = request_token(
        client,
        {"scope": "cases.read admin"},
        auth=basic_auth(center.client_id, center.client_secret),
    )
    assert_oauth_error(response, "invalid_scope", 400)


@pytest.mark.parametrize(
    ("kind", "scope"),
    [("police", "cases.write"), ("auditor", "cases.read"), ("legal_aid", "audit.read")],
)
def test_client_cannot_be_created_with_a_scope_beyond_its_org_kind(
    rt: Runtime, kind: str, scope: str
) -> None:
    org_id = unique(kind.replace("_", "-"))
    create_org(CreateOrg(org_id, kind, "X"), rt.uow())
    with pytest.raises(InvalidInput, match="invalid_scope"):
        create_client(CreateClient(org_id, f"{scope}"), rt.uow())
    with rt.session_factory() as session:
        assert session.scalars(select(OAuthClient).where(OAuthClient.org_id == org_id)).all() == []


def test_client_of_a_support_center_may_hold_every_scope(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    assert set(center.scope.split()) == {
        "cases.read",
        "cases.write",
        "pii.read",
        "pii.write",
        "content.read",
        "content.write",
        "referrals.read",
        "referrals.write",
        "services.write",
        "audit.read",
        "stats.read",
        "subscriptions.write",
    }


# -- secrets --------------------------------------------------------------------------------


def test_secret_is_stored_only_as_a_slow_salted_hash(agencies: Agencies, rt: Runtime) -> None:
    first = agencies.new("police")
    second = agencies.new("police")
    with rt.session_factory() as session:
        rows = {
            row.id: row
            for row in session.scalars(
                select(OAuthClient).where(OAuthClient.id.in_([first.client_id, second.client_id]))
            )
        }
    for agency in (first, second):
        stored = rows[agency.client_id].secret_hash
        assert stored is not None
        assert agency.client_secret not in stored
        scheme, n, _r, _p, salt, digest = stored.split("$")
        assert scheme == "scrypt"
        assert int(n) >= 2**14  # memory-hard and slow
        assert salt
        assert digest
        for column in ("name", "scope", "jwks"):
            assert agency.client_secret not in str(getattr(rows[agency.client_id], column))
    # Salted: two hashes never share a salt.
    salts = {rows[a.client_id].secret_hash.split("$")[4] for a in (first, second)}  # type: ignore[union-attr]
    assert len(salts) == 2


def test_secret_has_enough_entropy(agencies: Agencies) -> None:
    police = agencies.new("police")
    assert len(police.client_secret) >= 43  # 32 random bytes


def test_rotated_secret_replaces_the_old_one_at_once(
    client: FlaskClient, agencies: Agencies, rt: Runtime
) -> None:
    police = agencies.new("police")
    issued = rotate_secret(RotateSecret(police.client_id), rt.uow())
    assert issued.client_secret is not None
    assert issued.client_secret != police.client_secret
    old = request_token(client, auth=basic_auth(police.client_id, police.client_secret))
    assert_oauth_error(old, "invalid_client", 401)
    new = request_token(client, auth=basic_auth(police.client_id, issued.client_secret))
    assert new.status_code == 200
    # Tokens issued before the rotation stay valid until they expire.
    assert police.get("/v1/oauth-probe").status_code == 404


# -- private_key_jwt (RFC 7523) ----------------------------------------------------------------


class KeyedClient:
    """An agency system that authenticates with a private key (the client side uses jwcrypto)."""

    def __init__(self, client_id: str, key: jwk.JWK, alg: str) -> None:
        self.client_id = client_id
        self.key = key
        self.alg = alg

    def assertion(self, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": TOKEN_URL,
            "iat": now,
            "exp": now + 60,
            "jti": str(uuid.uuid4()),
        }
        header: dict[str, Any] = {"alg": self.alg, "kid": self.key.get("kid")}
        header.update(overrides.pop("header", {}))
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        token = jwcrypto_jwt.JWT(header=header, claims=claims)
        token.make_signed_token(self.key)
        return str(token.serialize())


def hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """An HMAC-signed JWT built by hand (PyJWT rightly refuses to key HMAC with a public key)."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def form_for(assertion: str, **extra: str) -> dict[str, str]:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion, **extra}


def keyed_client(rt: Runtime, kind: str = "police", key: jwk.JWK | None = None) -> KeyedClient:
    key = key or jwk.JWK.generate(kty="EC", crv="P-256", kid=secrets.token_hex(8))
    org_id = unique(kind.replace("_", "-"))
    create_org(CreateOrg(org_id, kind, "X"), rt.uow())
    public = json.loads(key.export_public())
    issued = create_client(CreateClient(org_id, None, jwks={"keys": [public]}), rt.uow())
    assert issued.client_secret is None
    assert issued.auth_method == "private_key_jwt"
    alg = "EdDSA" if public["kty"] == "OKP" else "ES256"
    return KeyedClient(issued.client_id, key, alg)


@pytest.fixture
def keyed(rt: Runtime) -> KeyedClient:
    return keyed_client(rt)


def test_private_key_jwt_with_es256_gets_a_token(client: FlaskClient, keyed: KeyedClient) -> None:
    response = request_token(client, form_for(keyed.assertion()))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json is not None
    claims = jwt.decode(response.json["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == keyed.client_id
    assert claims["org_kind"] == "police"


def test_private_key_jwt_with_eddsa_gets_a_token(client: FlaskClient, rt: Runtime) -> None:
    key = jwk.JWK.generate(kty="OKP", crv="Ed25519", kid="ed")
    keyed = keyed_client(rt, key=key)
    response = request_token(client, form_for(keyed.assertion()))
    assert response.status_code == 200, response.get_data(as_text=True)


def test_private_key_jwt_accepts_the_issuer_as_audience(
    client: FlaskClient, keyed: KeyedClient
) -> None:
    response = request_token(client, form_for(keyed.assertion(aud=ISSUER)))
    assert response.status_code == 200, response.get_data(as_text=True)


def test_private_key_jwt_with_a_matching_client_id_parameter_is_accepted(
    client: FlaskClient, keyed: KeyedClient
) -> None:
    response = request_token(client, form_for(keyed.assertion(), client_id=keyed.client_id))
    assert response.status_code == 200, response.get_data(as_text=True)


def test_replayed_client_assertion_is_invalid_client(
    client: FlaskClient, keyed: KeyedClient
) -> None:
    assertion = keyed.assertion()
    assert request_token(client, form_for(assertion)).status_code == 200
    assert_oauth_error(request_token(client, form_for(assertion)), "invalid_client", 400)


def test_same_jti_in_a_new_assertion_is_a_replay(client: FlaskClient, keyed: KeyedClient) -> None:
    jti = str(uuid.uuid4())
    assert request_token(client, form_for(keyed.assertion(jti=jti))).status_code == 200
    again = keyed.assertion(jti=jti, exp=int(time.time()) + 120)
    assert_oauth_error(request_token(client, form_for(again)), "invalid_client", 400)


def test_hs256_client_assertion_is_refused(client: FlaskClient, rt: Runtime) -> None:
    """client_secret_jwt is not offered: an HMAC assertion is refused, whatever its key."""
    keyed = keyed_client(rt)
    now = int(time.time())
    claims = {
        "iss": keyed.client_id,
        "sub": keyed.client_id,
        "aud": TOKEN_URL,
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    for secret in (keyed.key.export_public(), "guessable-shared-secret-of-32-bytes!!"):
        assertion = hs256(claims, secret.encode(), keyed.key.get("kid"))
        assert_oauth_error(request_token(client, form_for(assertion)), "invalid_client", 400)


def test_unsigned_client_assertion_is_refused(client: FlaskClient, keyed: KeyedClient) -> None:
    now = int(time.time())
    claims = {
        "iss": keyed.client_id,
        "sub": keyed.client_id,
        "aud": TOKEN_URL,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    assertion = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    assert_oauth_error(request_token(client, form_for(assertion)), "invalid_client", 400)


@pytest.mark.parametrize(
    "audience",
    [
        "http://coordination.test/v1",
        "http://coordination.test/oauth/introspect",
        "http://coordination.test.evil",
        "https://coordination.test/oauth/token",
    ],
)
def test_client_assertion_for_another_audience_is_refused(
    client: FlaskClient, keyed: KeyedClient, audience: str
) -> None:
    response = request_token(client, form_for(keyed.assertion(aud=audience)))
    assert_oauth_error(response, "invalid_client", 400)


def test_client_assertion_expiring_more_than_5_minutes_ahead_is_refused(
    client: FlaskClient, keyed: KeyedClient
) -> None:
    far = keyed.assertion(exp=int(time.time()) + 300 + 60)
    assert_oauth_error(request_token(client, form_for(far)), "invalid_client", 400)


def test_client_assertion_expiring_5_minutes_ahead_is_accepted(
    client: FlaskClient, keyed: KeyedClient
) -> None:
    ok = keyed.assertion(exp=int(time.time()) + 295)
    assert request_token(client, form_for(ok)).status_code == 200


def test_expired_client_assertion_is_refused(client: FlaskClient, keyed: KeyedClient) -> None:
    old = keyed.assertion(exp=int(time.time()) - 60, iat=int(time.time()) - 120)
    assert_oauth_error(request_token(client, form_for(old)), "invalid_client", 400)


@pytest.mark.parametrize("claim", ["jti", "exp", "aud", "iss", "sub"])
def test_client_assertion_missing_a_claim_is_refused(
    client: FlaskClient, keyed: KeyedClient, claim: str
) -> None:
    assertion = keyed.assertion(**{claim: None})
    assert_oauth_error(request_token(client, form_for(assertion)), "invalid_client", 400)


def test_client_assertion_whose_issuer_is_not_the_client_is_refused(
    client: FlaskClient, keyed: KeyedClient
) -> None:
    assertion = keyed.assertion(iss="someone-else")
    assert_oauth_error(request_token(client, form_for(assertion)), "invalid_client", 400)


def test_client_assertion_signed_by_an_unregistered_key_is_refused(
    client: FlaskClient, keyed: KeyedClient
) -> None:
    stranger = jwk.JWK.generate(kty="EC", crv="P-256", kid=keyed.key.get("kid"))
    impostor = KeyedClient(keyed.client_id, stranger, "ES256")
    assert_oauth_error(request_token(client, form_for(impostor.assertion())), "invalid_client", 400)


@pytest.mark.parametrize("header", ["jku", "jwk", "x5u", "x5c"])
def test_client_assertion_naming_its_own_key_is_refused(
    client: FlaskClient, keyed: KeyedClient, header: str
) -> None:
    """Even when its signature is good: the key is the registered one, never the named one."""
    value: Any = {
        "jku": "https://attacker.example/jwks.json",
        "jwk": json.loads(keyed.key.export_public()),
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIB"],
    }[header]
    assertion = keyed.assertion(header={header: value})
    assert_oauth_error(request_token(client, form_for(assertion)), "invalid_client", 400)


def test_client_assertion_for_another_client_id_parameter_is_refused(
    client: FlaskClient, keyed: KeyedClient, agencies: Agencies
) -> None:
    other = agencies.new("police")
    response = request_token(client, form_for(keyed.assertion(), client_id=other.client_id))
    assert_oauth_error(response, "invalid_client", 400)


def test_keyed_client_cannot_use_a_secret(client: FlaskClient, keyed: KeyedClient) -> None:
    response = request_token(client, auth=basic_auth(keyed.client_id, "anything"))
    assert_oauth_error(response, "invalid_client", 401)


def test_secret_client_cannot_use_an_assertion(
    client: FlaskClient, agencies: Agencies, keyed: KeyedClient
) -> None:
    police = agencies.new("police")
    pretend = KeyedClient(police.client_id, keyed.key, "ES256")
    assert_oauth_error(request_token(client, form_for(pretend.assertion())), "invalid_client", 400)


def test_disabled_keyed_client_gets_no_token(
    client: FlaskClient, keyed: KeyedClient, rt: Runtime
) -> None:
    disable_client(DisableClient(keyed.client_id), rt.uow())
    assert_oauth_error(request_token(client, form_for(keyed.assertion())), "invalid_client", 400)


@pytest.mark.parametrize(
    "jwks",
    [
        {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
        {"keys": []},
        {"keys": [json.loads(jwk.JWK.generate(kty="EC", crv="P-256").export_private())]},
    ],
)
def test_client_cannot_register_symmetric_or_private_keys(
    rt: Runtime, jwks: dict[str, Any]
) -> None:
    org_id = unique("police")
    create_org(CreateOrg(org_id, "police", "X"), rt.uow())
    with pytest.raises(InvalidInput):
        create_client(CreateClient(org_id, None, jwks=jwks), rt.uow())


def test_keyed_client_cannot_rotate_a_secret(keyed: KeyedClient, rt: Runtime) -> None:
    from services.errors import Conflict

    with pytest.raises(Conflict):
        rotate_secret(RotateSecret(keyed.client_id), rt.uow())


# -- rate limiting of failed client authentications ---------------------------------------------


def test_failed_authentications_are_limited_per_client(
    client: FlaskClient, agencies: Agencies
) -> None:
    police = agencies.new("police")
    wrong = basic_auth(police.client_id, "wrong")
    for _ in range(CLIENT_FAILURE_BURST):
        # From many addresses: the per-client limit holds whatever the address.
        assert request_token(client, auth=wrong).status_code == 401
    limited = request_token(client, auth=wrong)
    assert limited.status_code == 429
    assert limited.content_type == "application/problem+json"
    assert int(limited.headers["Retry-After"]) >= 1
    # While limited, even the right secret is not checked.
    right = request_token(client, auth=basic_auth(police.client_id, police.client_secret))
    assert right.status_code == 429
    # Another client is not affected.
    other = agencies.new("police")
    assert (
        request_token(client, auth=basic_auth(other.client_id, other.client_secret)).status_code
        == 200
    )


def test_failed_authentications_are_limited_per_address(
    client: FlaskClient, agencies: Agencies
) -> None:
    from coordination.auth.state import ADDRESS_FAILURE_BURST

    address = fresh_address()
    for _ in range(ADDRESS_FAILURE_BURST):
        # A different (unknown) client id each time: only the address links the attempts.
        response = request_token(
            client, auth=basic_auth(f"guess-{secrets.token_hex(4)}", "x"), address=address
        )
        assert response.status_code == 401
    police = agencies.new("police")
    right = basic_auth(police.client_id, police.client_secret)
    limited = request_token(client, auth=right, address=address)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert request_token(client, auth=right, address=fresh_address()).status_code == 200


def test_successful_authentications_are_not_limited(
    client: FlaskClient, agencies: Agencies
) -> None:
    police = agencies.new("police")
    address = fresh_address()
    right = basic_auth(police.client_id, police.client_secret)
    for _ in range(CLIENT_FAILURE_BURST + 2):
        assert request_token(client, auth=right, address=address).status_code == 200


def test_replayed_assertions_count_as_failures(client: FlaskClient, keyed: KeyedClient) -> None:
    assertion = keyed.assertion()
    assert request_token(client, form_for(assertion)).status_code == 200
    statuses = [request_token(client, form_for(assertion)).status_code for _ in range(12)]
    assert statuses[:CLIENT_FAILURE_BURST] == [400] * CLIENT_FAILURE_BURST
    assert statuses[-1] == 429


def test_failed_introspection_authentications_are_limited_too(
    client: FlaskClient, agencies: Agencies
) -> None:
    police = agencies.new("police")
    wrong = basic_auth(police.client_id, "wrong")
    statuses = [
        client.post(
            "/oauth/introspect",
            data={"token": police.token},
            headers={"Authorization": wrong},
            environ_base={"REMOTE_ADDR": fresh_address()},
        ).status_code
        for _ in range(CLIENT_FAILURE_BURST + 1)
    ]
    assert statuses[:-1] == [401] * CLIENT_FAILURE_BURST
    assert statuses[-1] == 429


def test_scrypt_makes_each_secret_check_slow() -> None:
    """A check costs real time (and 16 MiB): a stolen table cannot be brute-forced cheaply."""
    from services.clients.credentials import hash_secret, verify_secret

    stored = hash_secret("s3cret")
    started = time.perf_counter()
    assert verify_secret("s3cret", stored)
    assert not verify_secret("s3cres", stored)
    assert (time.perf_counter() - started) / 2 > 0.005
