"""RFC 9068 access tokens: issued as ES256 JWTs, verified with PyJWT and nothing trusted blindly."""

import base64
import binascii
import json
import re
import time
from typing import Any

import jwt

from coordination.auth.keys import ALGORITHM, LEEWAY_S, KeyStore
from coordination.config import Settings
from services.ids import new_id

TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
#: Both spellings RFC 9068 section 4 tells resource servers to accept.
ACCEPTED_TYPES = frozenset({"at+jwt", "application/at+jwt"})
REQUIRED_CLAIMS = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "jti",
    "client_id",
    "scope",
    "org",
    "org_kind",
]
STRING_CLAIMS = ("iss", "sub", "aud", "jti", "client_id", "scope", "org", "org_kind")
#: An empty scope is a token good for nothing; an empty id is a token that cannot be revoked.
NONEMPTY_CLAIMS = ("sub", "jti", "client_id", "org", "org_kind")
#: Headers that would let a token name its own verification key: never honoured, always refused.
FORBIDDEN_HEADERS = frozenset({"jku", "jwk", "x5u", "x5c", "crit"})


_BASE64URL = re.compile(r"[A-Za-z0-9_-]{2,4096}")


class InvalidToken(Exception):
    """The token must be refused; the message is safe to show the caller."""


def issue_access_token(
    keys: KeyStore,
    settings: Settings,
    *,
    client_id: str,
    org: str,
    org_kind: str,
    scope: str,
) -> tuple[str, dict[str, Any]]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "sub": client_id,
        "aud": settings.api_audience,
        "exp": now + settings.access_token_ttl_s,
        "iat": now,
        "nbf": now,
        "jti": new_id(),
        "client_id": client_id,
        "scope": scope,
        "org": org,
        "org_kind": org_kind,
    }
    key = keys.current()
    token = jwt.encode(
        claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": TOKEN_TYPE}
    )
    return token, claims


def unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, to pick the key. Parsed here rather than by `jwt.get_unverified_header`,
    which would decode and check the whole token a first time (PyJWT's checks of the base64
    alphabet are most of its cost); `jwt.decode` below checks everything, header included."""
    segment = token.partition(".")[0]
    if not _BASE64URL.fullmatch(segment):
        raise InvalidToken("the token is not a well-formed JWT")
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error):
        raise InvalidToken("the token is not a well-formed JWT") from None
    if not isinstance(header, dict):
        raise InvalidToken("the token is not a well-formed JWT")
    return header


def verify_access_token(
    keys: KeyStore, settings: Settings, token: str, *, verify_exp: bool = True
) -> dict[str, Any]:
    """The claims of a token this service issued for its API, or InvalidToken."""
    header = unverified_header(token)
    if str(header.get("typ", "")).lower() not in ACCEPTED_TYPES:
        raise InvalidToken("the token is not an access token (typ must be at+jwt)")
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("the token's algorithm is not accepted")
    if FORBIDDEN_HEADERS & set(header):
        raise InvalidToken("the token carries a header this service does not accept")
    kid = header.get("kid")
    key = keys.find(kid) if isinstance(kid, str) else None
    if key is None:
        raise InvalidToken("the token was not signed by a key of this service")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public_key,
            algorithms=[ALGORITHM],
            audience=settings.api_audience,
            issuer=settings.issuer,
            leeway=LEEWAY_S,
            options={
                "require": REQUIRED_CLAIMS,
                "strict_aud": True,
                "verify_exp": verify_exp,
            },
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the token has expired") from None
    except jwt.ImmatureSignatureError:
        raise InvalidToken("the token is not valid yet") from None
    except jwt.InvalidTokenError:
        raise InvalidToken("the token is not valid") from None
    if any(not isinstance(claims[name], str) for name in STRING_CLAIMS):
        raise InvalidToken("the token is not valid")
    if any(not claims[name] for name in NONEMPTY_CLAIMS):
        raise InvalidToken("the token is not valid")
    if claims["sub"] != claims["client_id"]:
        raise InvalidToken("the token is not valid")
    return claims
