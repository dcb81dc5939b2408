"""The authorization server (Authlib): the token, introspection and revocation endpoints, the
JWKS and the RFC 8414 metadata.

Clients authenticate with `client_secret_basic` or `private_key_jwt` (RFC 7523, asymmetric
algorithms only, each assertion once). Failed authentications are rate limited per claimed
client and per address before any secret is even checked.
"""

import base64
import binascii
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jwt
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, InvalidClientError, InvalidScopeError, TokenMixin
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Blueprint, Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue

from coordination.auth.keys import LEEWAY_S
from coordination.auth.state import auth_state
from coordination.auth.tokens import (
    FORBIDDEN_HEADERS,
    InvalidToken,
    issue_access_token,
    verify_access_token,
)
from coordination.http.problems import problem
from coordination.runtime import runtime
from services.clients.commands import RevokeToken, UseAssertion
from services.clients.credentials import verify_secret
from services.clients.handlers import revoke_token, use_assertion
from services.clients.queries import ClientRecord, client_record
from services.clients.scopes import SCOPES, allowed_scopes, format_scopes

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AUTH_METHODS = ["client_secret_basic", "private_key_jwt"]
#: Client assertions must be signed with the client's private key: no HS*, no "none".
ASSERTION_ALGORITHMS = frozenset(
    {
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
    }
)
MAX_ASSERTION_LIFETIME_S = 300
MAX_CLIENT_ID = 64

bp = Blueprint("oauth", __name__)


# -- clients and tokens, as Authlib sees them ---------------------------------------------------


class Client(ClientMixin):  # type: ignore[misc]
    def __init__(self, record: ClientRecord) -> None:
        self.record = record

    @property
    def holdable_scopes(self) -> frozenset[str]:
        # Re-checked at every issue: a client never gets what its org kind may not hold.
        return self.record.scopes & allowed_scopes(self.record.org_kind)

    def get_client_id(self) -> str:
        return self.record.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return format_scopes(self.holdable_scopes & set(scope_to_list(scope) or []))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.record.secret_hash
        if stored is None or not isinstance(client_secret, str):
            return False
        return auth_state().verified_secrets.check(
            self.record.client_id, stored, client_secret, verify_secret
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.record.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class AccessToken(TokenMixin):  # type: ignore[misc]
    def __init__(self, claims: dict[str, Any]) -> None:
        self.claims = claims

    def check_client(self, client: Client) -> bool:
        return bool(self.claims["client_id"] == client.record.client_id)

    def get_scope(self) -> str:
        return str(self.claims["scope"])

    def get_expires_in(self) -> int:
        return max(0, int(self.claims["exp"]) - int(time.time()))

    def is_expired(self) -> bool:
        return int(self.claims["exp"]) + LEEWAY_S < time.time()

    def is_revoked(self) -> bool:
        return auth_state().refusal(self.claims["client_id"], self.claims["jti"]) is not None


def query_client(client_id: Any) -> Client | None:
    """A live client, or None (unknown and disabled clients alike cannot authenticate)."""
    if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_CLIENT_ID:
        return None
    with runtime().session_factory() as session:
        record = client_record(session, client_id)
    if record is None or record.disabled:
        return None
    return Client(record)


class ClientCredentials(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_requested_scope(self) -> None:
        requested = set(scope_to_list(self.request.payload.scope) or [])
        refused = requested - self.client.holdable_scopes
        if refused:
            raise InvalidScopeError(
                description=f"this client may not hold: {format_scopes(refused)}"
            )


def generate_token(
    grant_type: str,
    client: Client,
    user: Any = None,
    scope: str | None = None,
    expires_in: int | None = None,
    include_refresh_token: bool = False,
) -> dict[str, Any]:
    requested = set(scope_to_list(scope) or [])
    granted = client.holdable_scopes & requested if requested else client.holdable_scopes
    state = auth_state()
    settings = runtime().settings
    token, _ = issue_access_token(
        state.keys,
        settings,
        client_id=client.record.client_id,
        org=client.record.org,
        org_kind=client.record.org_kind,
        scope=format_scopes(granted),
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": settings.access_token_ttl_s,
        "scope": format_scopes(granted),
    }


def _verified(token_string: str, *, verify_exp: bool) -> AccessToken | None:
    try:
        claims = verify_access_token(
            auth_state().keys, runtime().settings, token_string, verify_exp=verify_exp
        )
    except InvalidToken:
        return None
    return AccessToken(claims)


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    """RFC 7662. A client learns about tokens of its own org only; any other is `inactive`."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> AccessToken | None:
        return _verified(token_string, verify_exp=True)

    def check_permission(self, token: AccessToken, client: Client, request: Any) -> bool:
        return bool(token.claims["org"] == client.record.org)

    def introspect_token(self, token: AccessToken) -> dict[str, Any]:
        c = token.claims
        return {
            "active": True,
            "token_type": "Bearer",
            "scope": c["scope"],
            "client_id": c["client_id"],
            "sub": c["sub"],
            "aud": c["aud"],
            "iss": c["iss"],
            "exp": c["exp"],
            "iat": c["iat"],
            "jti": c["jti"],
            "org": c["org"],
            "org_kind": c["org_kind"],
        }


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009: 200 for any token, revoked only when it was issued to the calling client."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> AccessToken | None:
        return _verified(token_string, verify_exp=False)

    def authenticate_token(self, request: Any, client: Client) -> AccessToken | None:
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        if token is None or not token.check_client(client) or token.is_expired():
            return None  # nothing to do, and nothing said about other clients' tokens
        return token

    def revoke_token(self, token: AccessToken, request: Any) -> None:
        rt = runtime()
        revoke_token(
            RevokeToken(
                jti=token.claims["jti"],
                client_id=token.claims["client_id"],
                expires_at=_utc(int(token.claims["exp"]) + LEEWAY_S),
            ),
            rt.uow(),
        )


def authenticate_private_key_jwt(
    query: Callable[[Any], Client | None], oauth_request: Any
) -> Client | None:
    """RFC 7523 section 2.2 client authentication, with the client's registered public keys."""
    form = oauth_request.form
    if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
        return None
    assertion = form["client_assertion"]
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InvalidClientError(description="the client assertion is not a JWT") from None
    alg = header.get("alg")
    if alg not in ASSERTION_ALGORITHMS:
        raise InvalidClientError(
            description="client assertions must be signed with an asymmetric algorithm"
        )
    if FORBIDDEN_HEADERS & set(header):
        raise InvalidClientError(description="the client assertion names its own key")
    client_id = unverified.get("sub")
    if form.get("client_id") not in (None, client_id):
        raise InvalidClientError(description="client_id and the assertion disagree")
    client = query(client_id)
    if client is None or client.record.jwks is None:
        raise InvalidClientError(description="unknown client, or one without registered keys")
    settings = runtime().settings
    claims = _verify_assertion(assertion, alg, header.get("kid"), client.record.jwks, settings)
    if claims["iss"] != client_id or not isinstance(claims["jti"], str) or not claims["jti"]:
        raise InvalidClientError(description="the client assertion's iss, sub or jti is wrong")
    if len(claims["jti"]) > 200:
        raise InvalidClientError(description="the client assertion's jti is too long")
    if int(claims["exp"]) > time.time() + MAX_ASSERTION_LIFETIME_S + LEEWAY_S:
        raise InvalidClientError(description="the client assertion expires too far ahead")
    fresh = use_assertion(
        UseAssertion(client_id, claims["jti"], _utc(int(claims["exp"]) + LEEWAY_S)),
        runtime().uow(),
    )
    if not fresh:
        raise InvalidClientError(description="the client assertion has been used before")
    return client


def _verify_assertion(
    assertion: str, alg: str, kid: Any, jwks: dict[str, Any], settings: Any
) -> dict[str, Any]:
    candidates = [k for k in jwks["keys"] if kid is None or k.get("kid") == kid]
    issuer = settings.issuer
    audiences = [issuer, issuer.rstrip("/") + "/oauth/token"]
    for candidate in candidates:
        try:
            key = jwt.PyJWK(candidate, algorithm=alg)
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key,
                algorithms=[alg],
                audience=audiences,
                leeway=LEEWAY_S,
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        return claims
    raise InvalidClientError(description="the client assertion is not valid")


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# -- the server and its routes ------------------------------------------------------------------


def build_server(app: Flask) -> AuthorizationServer:
    server = AuthorizationServer(app, query_client=query_client, save_token=_save_nothing)
    server.register_token_generator("default", generate_token)
    server.register_client_auth_method("private_key_jwt", authenticate_private_key_jwt)
    server.register_grant(ClientCredentials)
    server.register_endpoint(Introspection)
    server.register_endpoint(Revocation)
    return server


def _save_nothing(token: dict[str, Any], oauth_request: Any) -> None:
    """Access tokens are self-contained JWTs: nothing is stored until one is revoked."""


def endpoint_url(path: str) -> str:
    return runtime().settings.issuer.rstrip("/") + path


@bp.post("/oauth/token")
def token() -> ResponseReturnValue:
    return _limited(lambda state: state.server.create_token_response())


@bp.post("/oauth/introspect")
def introspect() -> ResponseReturnValue:
    return _limited(lambda state: state.server.create_endpoint_response("introspection"))


@bp.post("/oauth/revoke")
def revoke() -> ResponseReturnValue:
    return _limited(lambda state: state.server.create_endpoint_response("revocation"))


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    response = jsonify(auth_state().keys.jwks())
    response.content_type = "application/jwk-set+json"
    # Short, so a rotated-in key is fetched soon; verifiers refetch on an unknown kid anyway.
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.get("/.well-known/oauth-authorization-server")
def metadata() -> Response:
    response = jsonify(server_metadata())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def server_metadata() -> dict[str, Any]:
    algorithms = sorted(ASSERTION_ALGORITHMS)
    return {
        "issuer": runtime().settings.issuer,
        "token_endpoint": endpoint_url("/oauth/token"),
        "jwks_uri": endpoint_url("/.well-known/jwks.json"),
        "scopes_supported": list(SCOPES),
        "response_types_supported": [],
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": algorithms,
        "introspection_endpoint": endpoint_url("/oauth/introspect"),
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": algorithms,
        "revocation_endpoint": endpoint_url("/oauth/revoke"),
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": algorithms,
        "service_documentation": endpoint_url("/docs"),
    }


def _limited(handle: Any) -> ResponseReturnValue:
    """Refuses at once while the claimed client or the address has failed too often; counts
    each failed client authentication against both."""
    state = auth_state()
    buckets = [(state.address_failures, request.remote_addr or "-")]
    claimed = claimed_client_id()
    if claimed:
        buckets.append((state.client_failures, claimed))
    wait = max(bucket.wait(key) for bucket, key in buckets)
    if wait:
        return problem(
            429,
            "too many failed client authentications; try again later",
            slug="too-many-failed-authentications",
            headers={"Retry-After": str(wait), "Cache-Control": "no-store"},
        )
    response: Response = handle(state)
    if _failed_client_authentication(response):
        for bucket, key in buckets:
            bucket.spend(key)
    return response


def claimed_client_id() -> str | None:
    """The client id a request claims to be, before anything is verified (to count failures)."""
    auth = request.headers.get("Authorization", "")
    scheme, _, credentials = auth.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0][:MAX_CLIENT_ID] or None
    assertion = request.form.get("client_assertion")
    if assertion:
        try:
            sub = jwt.decode(assertion, options={"verify_signature": False}).get("sub")
        except jwt.PyJWTError:
            return None
        return sub[:MAX_CLIENT_ID] if isinstance(sub, str) else None
    client_id = request.form.get("client_id")
    return client_id[:MAX_CLIENT_ID] if client_id else None


def _failed_client_authentication(response: Response) -> bool:
    if response.status_code not in (400, 401):
        return False
    try:
        body = json.loads(response.get_data())
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") == "invalid_client"
