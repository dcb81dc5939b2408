"""Reads for the token endpoint and the API guard: small, indexed, one round trip each."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, select
from sqlalchemy.orm import Session

from services.clients.models import OAuthClient, RevokedToken
from services.orgs.models import Org


@dataclass(frozen=True)
class ClientRecord:
    """What the authorization server needs to know about a client, detached from any session."""

    client_id: str
    org: str
    org_kind: str
    scopes: frozenset[str]
    secret_hash: str | None
    jwks: dict[str, Any] | None
    disabled: bool

    @property
    def auth_method(self) -> str:
        return "private_key_jwt" if self.jwks is not None else "client_secret_basic"


@dataclass(frozen=True)
class ClientSummary:
    client_id: str
    org: str
    name: str
    scope: str
    auth_method: str
    created_at: datetime
    secret_rotated_at: datetime | None
    disabled_at: datetime | None


def client_record(session: Session, client_id: str) -> ClientRecord | None:
    row = session.execute(
        select(OAuthClient, Org.kind)
        .join(Org, Org.id == OAuthClient.org_id)
        .where(OAuthClient.id == client_id)
    ).first()
    if row is None:
        return None
    client, kind = row
    return ClientRecord(
        client_id=client.id,
        org=client.org_id,
        org_kind=kind,
        scopes=client.scopes,
        secret_hash=client.secret_hash,
        jwks=json.loads(client.jwks) if client.jwks else None,
        disabled=client.disabled_at is not None,
    )


REVOKED = "the token has been revoked"
DISABLED = "the client has been disabled"

#: Built once: on SQLite, and on PostgreSQL while a process's memory of refusals cannot be
#: trusted (coordination/auth/refusals.py), it runs on every API request.
_REFUSAL = select(
    OAuthClient.disabled_at,
    exists().where(RevokedToken.jti == bindparam("jti")).correlate(None),
).where(OAuthClient.id == bindparam("client_id"))


def token_refusal(session: Session | Connection, client_id: str, jti: str) -> str | None:
    """Why a validly signed token must still be refused, or None: one query by primary keys."""
    row = session.execute(_REFUSAL, {"client_id": client_id, "jti": jti}).first()
    if row is None:
        return "the client no longer exists"
    disabled_at, is_revoked = row
    if is_revoked:
        return REVOKED
    if disabled_at is not None:
        return DISABLED
    return None


def list_clients(session: Session, org_id: str | None = None) -> Sequence[ClientSummary]:
    query = select(OAuthClient).order_by(OAuthClient.org_id, OAuthClient.created_at)
    if org_id is not None:
        query = query.where(OAuthClient.org_id == org_id)
    return [
        ClientSummary(
            client_id=c.id,
            org=c.org_id,
            name=c.name,
            scope=c.scope,
            auth_method=c.auth_method,
            created_at=c.created_at,
            secret_rotated_at=c.secret_rotated_at,
            disabled_at=c.disabled_at,
        )
        for c in session.scalars(query)
    ]


def find_named_client(session: Session, org_id: str, name: str) -> str | None:
    """The id of the org's live client with this name (the demo seeds one named "demo")."""
    return session.scalars(
        select(OAuthClient.id)
        .where(
            OAuthClient.org_id == org_id,
            OAuthClient.name == name,
            OAuthClient.disabled_at.is_(None),
        )
        .order_by(OAuthClient.created_at)
        .limit(1)
    ).first()
