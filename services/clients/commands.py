from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CreateClient:
    org_id: str
    scope: str | None = None  # None: every scope the org's kind may hold
    jwks: dict[str, Any] | None = None  # public keys: the client uses private_key_jwt
    name: str = ""


@dataclass(frozen=True)
class DisableClient:
    client_id: str


@dataclass(frozen=True)
class RotateSecret:
    client_id: str


@dataclass(frozen=True)
class RevokeToken:
    jti: str
    client_id: str
    expires_at: datetime


@dataclass(frozen=True)
class UseAssertion:
    client_id: str
    jti: str
    expires_at: datetime
