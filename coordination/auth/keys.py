"""The ES256 keys that sign access tokens: one file, created on first start, owner-only.

The file holds every key still needed: the current one (the last), and retired ones until every
token they signed has expired, so `/.well-known/jwks.json` keeps listing them that long. Each
process re-reads the file when it changes, so `coordination keys rotate` reaches every worker.
"""

import base64
import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ALGORITHM = "ES256"
#: Clock skew allowed when verifying tokens; retired keys stay published this much longer too.
LEEWAY_S = 30


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    created_at: int
    retired_at: int | None = None

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    def public_jwk(self) -> dict[str, str]:
        return {**_public_members(self.public_key), "kid": self.kid, "use": "sig", "alg": ALGORITHM}


class KeyStore:
    """The key file of one deployment, cached in memory and reloaded when the file changes."""

    def __init__(self, path: Path, token_ttl_s: int) -> None:
        self.path = path
        self.token_ttl_s = token_ttl_s
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._keys: list[SigningKey] = []

    def ensure(self) -> None:
        """Creates the file with a first key when it is absent."""
        with self._lock:
            if not self.path.exists():
                _write(self.path, [_new_key()], exclusive=True)
            self._reload()

    def current(self) -> SigningKey:
        return self._fresh()[-1]

    def find(self, kid: str) -> SigningKey | None:
        """A key that may still verify tokens: the current one, or a retired one within its time."""
        now = int(time.time())
        for key in self._fresh():
            if key.kid == kid and self._still_valid(key, now):
                return key
        return None

    def published(self) -> list[SigningKey]:
        now = int(time.time())
        return [key for key in self._fresh() if self._still_valid(key, now)]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self.published()]}

    def rotate(self) -> SigningKey:
        """Adds a new current key; the old one stops signing, verifies until its tokens expire."""
        with self._lock:
            self._reload()
            now = int(time.time())
            kept = [
                key if key.retired_at is not None else _retired(key, now)
                for key in self._keys
                if self._still_valid(key, now)
            ]
            new = _new_key()
            _write(self.path, [*kept, new])
            self._reload()
            return new

    def _still_valid(self, key: SigningKey, now: int) -> bool:
        return key.retired_at is None or now <= key.retired_at + self.token_ttl_s + LEEWAY_S

    def _fresh(self) -> list[SigningKey]:
        stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp != self._stamp:
            with self._lock:
                self._reload()
        return self._keys

    def _reload(self) -> None:
        stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        raw = json.loads(self.path.read_text())
        keys = [_load(entry) for entry in raw["keys"]]
        if not keys:
            raise ValueError(f"{self.path} holds no signing key")
        self._keys = keys
        self._stamp = stamp


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of an EC public key: the key's id."""
    canonical = json.dumps(
        {name: jwk[name] for name in ("crv", "kty", "x", "y")}, separators=(",", ":")
    )
    return _b64(hashlib.sha256(canonical.encode()).digest())


def _new_key() -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(
        kid=thumbprint(_public_members(private.public_key())),
        private_key=private,
        created_at=int(time.time()),
    )


def _retired(key: SigningKey, now: int) -> SigningKey:
    return SigningKey(key.kid, key.private_key, key.created_at, now)


def _public_members(public: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = public.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64(numbers.x.to_bytes(32, "big")),
        "y": _b64(numbers.y.to_bytes(32, "big")),
    }


def _load(entry: dict[str, Any]) -> SigningKey:
    private = serialization.load_pem_private_key(entry["private_key"].encode(), password=None)
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        raise ValueError("the signing key file holds a key that is not an EC key")
    return SigningKey(entry["kid"], private, int(entry["created_at"]), entry.get("retired_at"))


def _dump(key: SigningKey) -> dict[str, Any]:
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "kid": key.kid,
        "alg": ALGORITHM,
        "created_at": key.created_at,
        "retired_at": key.retired_at,
        "private_key": pem.decode(),
    }


def _write(path: Path, keys: list[SigningKey], *, exclusive: bool = False) -> None:
    """Replaces the file atomically; the new file is readable by its owner only from birth.

    `exclusive`: only create it; when another process (a second worker) got there first, its
    file stands, so that every worker signs with the same key.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-keys-")  # created 0600
    try:
        with os.fdopen(fd, "w") as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump({"keys": [_dump(key) for key in keys]}, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
            Path(tmp).unlink()
        else:
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
