"""Interop: off-the-shelf client libraries get and use our tokens over real HTTP, and a second
JOSE library verifies them from the published JWKS."""

import json
import threading
import time
from collections.abc import Iterator

import jwt
import pytest
import requests
from flask import Flask
from jwcrypto import jwk, jws
from jwcrypto import jwt as jwcrypto_jwt
from oauthlib.oauth2 import BackendApplicationClient
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session
from werkzeug.serving import BaseWSGIServer, make_server

from tests.support.agencies import Agencies

ISSUER = "http://coordination.test"


@pytest.fixture(scope="module")
def server(app: Flask) -> Iterator[str]:
    """The test app behind a real HTTP server on a free local port."""
    httpd: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()


def test_requests_oauthlib_gets_a_token_and_calls_the_api(
    server: str, agencies: Agencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # plain HTTP on the loopback only
    police = agencies.new("police")
    with OAuth2Session(client=BackendApplicationClient(client_id=police.client_id)) as session:
        token = session.fetch_token(
            token_url=f"{server}/oauth/token",
            auth=HTTPBasicAuth(police.client_id, police.client_secret),
            scope=["cases.read", "referrals.read"],
        )
        assert token["token_type"] == "Bearer"
        assert sorted(token["scope"]) == ["cases.read", "referrals.read"]
        authorised = session.get(f"{server}/v1/interop-probe")
        assert authorised.status_code == 404  # past the guard: nothing is routed there
    anonymous = requests.get(f"{server}/v1/interop-probe", timeout=10)
    assert anonymous.status_code == 401
    assert 'error="invalid_token"' in anonymous.headers["WWW-Authenticate"]


def test_authlib_client_with_private_key_jwt_gets_a_token(server: str, rt: object) -> None:
    """Authlib's own client side (its requests integration), with RFC 7523 client auth."""
    from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
    from joserfc.jwk import ECKey

    from coordination.runtime import Runtime
    from services.clients.commands import CreateClient
    from services.clients.handlers import create_client
    from services.orgs.commands import CreateOrg
    from services.orgs.handlers import create_org
    from tests.conftest import unique

    assert isinstance(rt, Runtime)
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="agency-key-1")
    org_id = unique("kcsc")
    create_org(CreateOrg(org_id, "standards_commission", "X"), rt.uow())
    public = json.loads(key.export_public())
    issued = create_client(CreateClient(org_id, None, jwks={"keys": [public]}), rt.uow())
    private_key = ECKey.import_key(key.export_to_pem(private_key=True, password=None))
    # Authlib's client makes assertions valid for an hour by default; this server accepts at
    # most five minutes, so the agency sets `exp` itself (README "Connecting an agency system").
    auth_method = PrivateKeyJWT(
        token_endpoint=f"{ISSUER}/oauth/token",
        alg="ES256",
        headers={"kid": "agency-key-1"},
        claims={"exp": int(time.time()) + 120},
    )
    with AuthlibSession(
        client_id=issued.client_id,
        client_secret=private_key,
        token_endpoint_auth_method=auth_method,
    ) as session:
        token = session.fetch_token(f"{server}/oauth/token", grant_type="client_credentials")
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == issued.client_id
    assert claims["org_kind"] == "standards_commission"


def test_jwcrypto_verifies_our_tokens_from_the_published_jwks(
    server: str, agencies: Agencies
) -> None:
    center = agencies.new("support_center")
    keyset = jwk.JWKSet.from_json(requests.get(f"{server}/.well-known/jwks.json", timeout=10).text)
    verified = jwcrypto_jwt.JWT(
        jwt=center.token,
        key=keyset,
        algs=["ES256"],
        check_claims={
            "iss": ISSUER,
            "aud": f"{ISSUER}/v1",
            "exp": None,
            "client_id": center.client_id,
        },
        expected_type="JWS",
    )
    claims = json.loads(verified.claims)
    assert claims["org"] == center.org
    assert claims["exp"] > time.time()
    assert json.loads(verified.token.objects["protected"])["typ"] == "at+jwt"


def test_jwcrypto_refuses_a_tampered_token(server: str, agencies: Agencies) -> None:
    center = agencies.new("support_center")
    keyset = jwk.JWKSet.from_json(requests.get(f"{server}/.well-known/jwks.json", timeout=10).text)
    header, _payload, signature = center.token.split(".")
    other = agencies.new("police").token.split(".")[1]
    # No published key verifies it (jwcrypto says so as "missing key").
    with pytest.raises((jws.InvalidJWSSignature, jwcrypto_jwt.JWTMissingKey)):
        jwcrypto_jwt.JWT(jwt=f"{header}.{other}.{signature}", key=keyset, algs=["ES256"])
