"""Public keys a client registers for `private_key_jwt`: a JWKS, one JWK, or a PEM public key."""

import base64
import hashlib
import json
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}


class BadKeys(ValueError):
    """The keys cannot be used; the message says why (it never echoes key material)."""


def load_public_jwks(text: str) -> dict[str, Any]:
    """Parses and checks the keys; every key gets a `kid` (its RFC 7638 thumbprint if absent)."""
    if text.lstrip().startswith("-----BEGIN"):
        keys = [_jwk_from_pem(text.encode())]
    else:
        try:
            document = json.loads(text)
        except ValueError:
            raise BadKeys("expected a JWKS, a JWK or a PEM public key") from None
        if not isinstance(document, dict):
            raise BadKeys("expected a JWKS, a JWK or a PEM public key")
        keys = document.get("keys", [document])
        if not isinstance(keys, list) or not keys:
            raise BadKeys("the JWKS holds no keys")
    checked = [_checked(key) for key in keys]
    return {"keys": checked}


def _checked(key: Any) -> dict[str, Any]:
    if not isinstance(key, dict) or key.get("kty") not in _THUMBPRINT_MEMBERS:
        raise BadKeys("only EC, RSA and OKP public keys can sign client assertions")
    if "d" in key or "p" in key or "k" in key:
        raise BadKeys("this is private key material: register the public key only")
    try:
        jwt.PyJWK(key)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        raise BadKeys("a key could not be read") from None
    if key["kty"] == "RSA" and len(_unb64(key["n"])) * 8 < 2048:
        raise BadKeys("RSA keys need at least 2048 bits")
    return {**key, "kid": key.get("kid") or thumbprint(key)}


def thumbprint(jwk: dict[str, Any]) -> str:
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _jwk_from_pem(pem: bytes) -> dict[str, Any]:
    try:
        public = serialization.load_pem_public_key(pem)
    except ValueError:
        raise BadKeys("expected a PEM public key (never a private one)") from None
    if isinstance(public, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(public, rsa.RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(public, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
    else:
        raise BadKeys("only EC, RSA and Ed25519/Ed448 public keys are accepted")
    return dict(jwk)


def _unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
