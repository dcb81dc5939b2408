"""The resource side: one guard on every /v1 route that refuses every token it should.

Each test forges or alters a token the way an attacker would and expects a 401 problem with a
Bearer `invalid_token` challenge. `/v1/oauth-guard-probe` is routed nowhere: the guard runs
before routing, so a good token gets 404 there and anything else 401.
"""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from coordination.auth.keys import SigningKey
from coordination.auth.state import auth_state
from coordination.config import Settings
from tests.support.agencies import Agencies, Agency, basic_auth

PROBE = "/v1/oauth-guard-probe"
PROBLEM = "application/problem+json"


def signing_key(app: Flask) -> SigningKey:
    return auth_state(app).keys.current()


def good_claims(agency: Agency) -> dict[str, Any]:
    """The claims of the agency's real token, to alter one at a time."""
    return dict(jwt.decode(agency.token, options={"verify_signature": False}))


def forge(
    app: Flask,
    claims: dict[str, Any],
    *,
    headers: dict[str, Any] | None = None,
    key: Any = None,
    algorithm: str = "ES256",
) -> str:
    real = signing_key(app)
    all_headers = {"kid": real.kid, "typ": "at+jwt", **(headers or {})}
    return jwt.encode(claims, key or real.private_key, algorithm=algorithm, headers=all_headers)


def call(client: FlaskClient, token: str) -> TestResponse:
    return client.get(PROBE, headers={"Authorization": f"Bearer {token}"})


def assert_refused(response: TestResponse) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    body = response.json
    assert body is not None
    assert body["status"] == 401
    assert {"type", "title", "detail"} <= set(body)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unsigned_token(header: dict[str, Any], claims: dict[str, Any]) -> str:
    encode = lambda part: b64(json.dumps(part).encode())  # noqa: E731
    return f"{encode(header)}.{encode(claims)}."


@pytest.fixture
def police(agencies: Agencies) -> Agency:
    return agencies.new("police")


# -- the baseline: the same requests with a good token pass the guard ---------------------------


def test_good_token_passes_the_guard_and_reaches_routing(police: Agency) -> None:
    response = police.get(PROBE)
    assert response.status_code == 404


def test_forged_token_with_good_claims_and_our_key_passes(
    app: Flask, client: FlaskClient, police: Agency
) -> None:
    # The forging helper itself is sound: any refusal below is due to the one thing altered.
    assert call(client, forge(app, good_claims(police))).status_code == 404


# -- no token, or not a token ---------------------------------------------------------------


def test_request_without_token_is_refused(client: FlaskClient) -> None:
    assert_refused(client.get(PROBE))


def test_request_with_basic_credentials_is_refused(client: FlaskClient, police: Agency) -> None:
    response = client.get(
        PROBE, headers={"Authorization": basic_auth(police.client_id, police.client_secret)}
    )
    assert_refused(response)


def test_malformed_bearer_header_is_refused(client: FlaskClient) -> None:
    assert_refused(client.get(PROBE, headers={"Authorization": "Bearer a b c"}))


def test_garbage_token_is_refused(client: FlaskClient) -> None:
    assert_refused(call(client, "not.a.jwt"))


def test_guard_covers_the_v1_root_too(client: FlaskClient) -> None:
    assert_refused(client.get("/v1"))
    assert_refused(client.post("/v1/", json={}))


# -- the algorithm --------------------------------------------------------------------------


def test_alg_none_is_refused(client: FlaskClient, police: Agency) -> None:
    claims = good_claims(police)
    for alg in ("none", "None", "NONE"):
        token = unsigned_token({"alg": alg, "typ": "at+jwt"}, claims)
        assert_refused(call(client, token))


def test_alg_none_with_our_kid_is_refused(app: Flask, client: FlaskClient, police: Agency) -> None:
    token = unsigned_token(
        {"alg": "none", "typ": "at+jwt", "kid": signing_key(app).kid}, good_claims(police)
    )
    assert_refused(call(client, token))


def test_hs256_signed_with_the_public_key_is_refused(
    app: Flask, client: FlaskClient, police: Agency
) -> None:
    """The classic key-confusion attack: HMAC keyed with the published public key."""
    public = signing_key(app).public_key
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk_json = json.dumps(signing_key(app).public_jwk()).encode()
    header = {"alg": "HS256", "typ": "at+jwt", "kid": signing_key(app).kid}
    for secret in (pem, jwk_json):
        signing_input = (
            b64(json.dumps(header).encode()) + "." + b64(json.dumps(good_claims(police)).encode())
        )
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert_refused(call(client, f"{signing_input}.{b64(mac)}"))


def test_other_asymmetric_algorithm_is_refused(
    app: Flask, client: FlaskClient, police: Agency
) -> None:
    other = ec.generate_private_key(ec.SECP384R1())
    token = forge(app, good_claims(police), key=other, algorithm="ES384")
    assert_refused(call(client, token))


# -- the key --------------------------------------------------------------------------------


def test_unknown_kid_is_refused(app: Flask, client: FlaskClient, police: Agency) -> None:
    token = forge(app, good_claims(police), headers={"kid": "no-such-key"})
    assert_refused(call(client, token))


def test_missing_kid_is_refused(app: Flask, client: FlaskClient, police: Agency) -> None:
    real = signing_key(app)
    token = jwt.encode(
        good_claims(police), real.private_key, algorithm="ES256", headers={"typ": "at+jwt"}
    )
    assert_refused(call(client, token))


def test_key_not_in_the_jwks_is_refused_even_with_our_kid(
    app: Flask, client: FlaskClient, police: Agency
) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    assert_refused(call(client, forge(app, good_claims(police), key=stranger)))


@pytest.mark.parametrize("header", ["jku", "jwk", "x5u", "x5c"])
def test_token_naming_its_own_key_is_refused(
    app: Flask, client: FlaskClient, police: Agency, header: str
) -> None:
    """A token signed by an attacker's key that it names in jku/jwk/x5u/x5c is never trusted."""
    attacker = ec.generate_private_key(ec.SECP256R1())
    attacker_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(attacker.public_key()))
    value: Any = {
        "jku": "https://attacker.example/jwks.json",
        "jwk": attacker_jwk,
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIBszCCAVmgAwIBAgIUDummyDummyDummy"],
    }[header]
    assert_refused(call(client, forge(app, good_claims(police), headers={header: value})))
    token = forge(
        app, good_claims(police), headers={header: value, "kid": "attacker"}, key=attacker
    )
    assert_refused(call(client, token))


def test_header_of_a_good_signature_is_never_ignored(
    app: Flask, client: FlaskClient, police: Agency
) -> None:
    """Even a token our key signed is refused when it carries a key-naming header: the guard
    must not silently ignore a header that could change how someone else verifies it."""
    token = forge(app, good_claims(police), headers={"jku": "https://attacker.example/k"})
    assert_refused(call(client, token))


# -- typ ------------------------------------------------------------------------------------


def test_missing_typ_is_refused(app: Flask, client: FlaskClient, police: Agency) -> None:
    token = sign_raw(app, {"alg": "ES256", "kid": signing_key(app).kid}, good_claims(police))
    assert "typ" not in jwt.get_unverified_header(token)
    assert_refused(call(client, token))


def sign_raw(app: Flask, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """Signs exactly this header (PyJWT would add `typ` on its own)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    algorithm = jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA256)
    signature = algorithm.sign(signing_input.encode(), signing_key(app).private_key)
    return f"{signing_input}.{b64(signature)}"


def test_sign_raw_with_typ_is_accepted(app: Flask, client: FlaskClient, police: Agency) -> None:
    header = {"alg": "ES256", "kid": signing_key(app).kid, "typ": "at+jwt"}
    assert call(client, sign_raw(app, header, good_claims(police))).status_code == 404


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+jws", "application/jwt", ""])
def test_wrong_typ_is_refused(app: Flask, client: FlaskClient, police: Agency, typ: str) -> None:
    assert_refused(call(client, forge(app, good_claims(police), headers={"typ": typ})))


def test_application_at_jwt_typ_is_accepted(
    app: Flask, client: FlaskClient, police: Agency
) -> None:
    token = forge(app, good_claims(police), headers={"typ": "application/at+jwt"})
    assert call(client, token).status_code == 404


# -- the claims -----------------------------------------------------------------------------


def test_expired_token_is_refused(app: Flask, client: FlaskClient, police: Agency) -> None:
    now = int(time.time())
    claims = {**good_claims(police), "iat": now - 700, "nbf": now - 700, "exp": now - 31}
    assert_refused(call(client, forge(app, claims)))


def test_token_expired_within_the_30_second_leeway_is_accepted(
    app: Flask, client: FlaskClient, police: Agency
) -> None:
    now = int(time.time())
    claims = {**good_claims(police), "iat": now - 600, "nbf": now - 600, "exp": now - 20}
    assert call(client, forge(app, claims)).status_code == 404


def test_token_not_valid_yet_is_refused(app: Flask, client: FlaskClient, police: Agency) -> None:
    now = int(time.time())
    claims = {**good_claims(police), "nbf": now + 60, "iat": now, "exp": now + 600}
    assert_refused(call(client, forge(app, claims)))


def test_token_valid_within_the_leeway_of_nbf_is_accepted(
    app: Flask, client: FlaskClient, police: Agency
) -> None:
    now = int(time.time())
    claims = {**good_claims(police), "nbf": now + 20, "iat": now, "exp": now + 600}
    assert call(client, forge(app, claims)).status_code == 404


def test_token_issued_in_the_future_is_refused(
    app: Flask, client: FlaskClient, police: Agency
) -> None:
    now = int(time.time())
    claims = {**good_claims(police), "iat": now + 3600, "nbf": now, "exp": now + 4000}
    assert_refused(call(client, forge(app, claims)))


@pytest.mark.parametrize(
    "issuer",
    [
        "http://evil.test",
        "http://coordination.test.evil.test",  # shares a prefix
        "http://coordination.tes",  # is a prefix
        "http://coordination.test/",  # trailing slash: not exactly the issuer
        "HTTP://COORDINATION.TEST",
    ],
)
def test_wrong_issuer_is_refused(
    app: Flask, client: FlaskClient, police: Agency, settings: Settings, issuer: str
) -> None:
    assert issuer != settings.issuer
    assert_refused(call(client, forge(app, {**good_claims(police), "iss": issuer})))


@pytest.mark.parametrize(
    "audience",
    [
        "http://coordination.test",  # the issuer, not the API
        "http://coordination.test/oauth/token",
        "http://coordination.test/v1/",
        "http://coordination.test/v1x",
        ["http://elsewhere.test", "http://coordination.test/v1"],  # not only this API
    ],
)
def test_wrong_audience_is_refused(
    app: Flask, client: FlaskClient, police: Agency, audience: Any
) -> None:
    assert_refused(call(client, forge(app, {**good_claims(police), "aud": audience})))


@pytest.mark.parametrize(
    "claim", ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope", "org", "org_kind"]
)
def test_token_missing_a_required_claim_is_refused(
    app: Flask, client: FlaskClient, police: Agency, claim: str
) -> None:
    claims = good_claims(police)
    del claims[claim]
    assert_refused(call(client, forge(app, claims)))


@pytest.mark.parametrize(
    ("claim", "value"),
    [("jti", 7), ("scope", ["cases.read"]), ("org", None), ("client_id", {"a": 1}), ("jti", "")],
)
def test_token_with_a_claim_of_the_wrong_type_is_refused(
    app: Flask, client: FlaskClient, police: Agency, claim: str, value: Any
) -> None:
    assert_refused(call(client, forge(app, {**good_claims(police), claim: value})))


def test_token_whose_subject_is_not_its_client_is_refused(
    app: Flask, client: FlaskClient, police: Agency, agencies: Agencies
) -> None:
    other = agencies.new("police")
    claims = {**good_claims(police), "sub": other.client_id}
    assert_refused(call(client, forge(app, claims)))


def test_tampered_payload_is_refused(client: FlaskClient, police: Agency) -> None:
    header, payload, signature = police.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] += " cases.write pii.write"
    claims["org_kind"] = "support_center"
    tampered = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    assert_refused(call(client, tampered))


def test_tampered_signature_is_refused(client: FlaskClient, police: Agency) -> None:
    header, payload, signature = police.token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[5] ^= 0x01
    assert_refused(call(client, f"{header}.{payload}.{b64(bytes(raw))}"))


def test_token_of_an_unknown_client_is_refused(
    app: Flask, client: FlaskClient, police: Agency
) -> None:
    claims = {**good_claims(police), "client_id": "ghost", "sub": "ghost"}
    assert_refused(call(client, forge(app, claims)))


# -- revocation and disabled clients ----------------------------------------------------------


def test_revoked_token_is_refused_from_the_next_request_on(
    client: FlaskClient, police: Agency
) -> None:
    assert police.get(PROBE).status_code == 404
    revoked = client.post(
        "/oauth/revoke",
        data={"token": police.token},
        headers={"Authorization": basic_auth(police.client_id, police.client_secret)},
    )
    assert revoked.status_code == 200
    assert_refused(police.get(PROBE))
    # Only that token: the client's other tokens still work.
    fresh = police.new_token()
    assert call(client, fresh).status_code == 404


def test_disabled_clients_live_token_is_refused_from_the_next_request_on(
    rt: Any, client: FlaskClient, police: Agency
) -> None:
    from services.clients.commands import DisableClient
    from services.clients.handlers import disable_client

    assert police.get(PROBE).status_code == 404
    disable_client(DisableClient(police.client_id), rt.uow())
    assert_refused(police.get(PROBE))


def test_actor_scopes_never_exceed_what_the_org_kind_may_hold(
    app: Flask, client: FlaskClient, police: Agency
) -> None:
    """A token claiming scopes beyond the org kind (were the signing key ever misused) is not
    given them: the actor holds the intersection."""
    from coordination.auth.guard import authenticate

    claims = {**good_claims(police), "scope": "cases.read cases.write pii.write audit.read"}
    token = forge(app, claims)
    with app.test_request_context(PROBE, headers={"Authorization": f"Bearer {token}"}):
        actor = authenticate()
    assert actor.scopes == frozenset({"cases.read"})
    assert actor.org == police.org
    assert actor.org_kind == "police"
    assert actor.client_id == police.client_id
    assert actor.token_id == claims["jti"]
