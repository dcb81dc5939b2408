"""Use cases of OAuth clients: create, disable, rotate a secret, revoke a token, spend a jti."""

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from services.clients import repository
from services.clients.commands import (
    CreateClient,
    DisableClient,
    RevokeToken,
    RotateSecret,
    UseAssertion,
)
from services.clients.models import OAuthClient, RevokedToken, UsedAssertion
from services.clients.refusals import Refusals, announce
from services.clients.scopes import ALL_SCOPES, allowed_scopes, format_scopes, parse_scopes
from services.errors import Conflict, InvalidInput, NotFound
from services.ids import new_id
from services.orgs import repository as orgs
from services.unit_of_work import UnitOfWork

# Public key members only: a JWKS holding private or symmetric key material is refused.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_ASYMMETRIC_KTY = frozenset({"EC", "RSA", "OKP"})


@dataclass(frozen=True)
class IssuedCredentials:
    """Shown once: the secret is not stored, only its hash."""

    client_id: str
    client_secret: str | None
    org: str
    org_kind: str
    scope: str
    auth_method: str


def create_client(cmd: CreateClient, uow: UnitOfWork) -> IssuedCredentials:
    jwks = _checked_jwks(cmd.jwks) if cmd.jwks is not None else None
    with uow:
        org = orgs.get(uow.session, cmd.org_id)
        if org is None:
            raise InvalidInput(
                f"organisation {cmd.org_id} does not exist", errors={"org": ["unknown org"]}
            )
        allowed = allowed_scopes(org.kind)
        scopes = sorted(allowed) if cmd.scope is None else parse_scopes(cmd.scope)
        _check_scopes(scopes, allowed, org.kind)
        now = uow.clock.now()
        client = OAuthClient(
            id=new_id(),
            org_id=org.id,
            name=cmd.name.strip()[:200],
            scope=format_scopes(scopes),
            jwks=json.dumps(jwks, sort_keys=True) if jwks is not None else None,
            created_at=now,
        )
        secret = None if jwks is not None else client.set_new_secret(now)
        uow.session.add(client)
        announce(uow.session, Refusals(clients=frozenset({client.id})))
        uow.commit()
        return IssuedCredentials(
            client.id, secret, org.id, org.kind, client.scope, client.auth_method
        )


def disable_client(cmd: DisableClient, uow: UnitOfWork) -> None:
    """Its token requests fail, and its live tokens are refused by every serving process as soon
    as the announcement reaches it (services/clients/refusals.py)."""
    with uow:
        client = _get(uow, cmd.client_id)
        if client.disabled_at is None:
            client.disabled_at = uow.clock.now()
            announce(uow.session, Refusals(disabled=frozenset({client.id})))
            uow.commit()


def rotate_secret(cmd: RotateSecret, uow: UnitOfWork) -> IssuedCredentials:
    with uow:
        client = _get(uow, cmd.client_id)
        if client.disabled_at is not None:
            raise Conflict(f"client {client.id} is disabled")
        if client.jwks is not None:
            raise Conflict(f"client {client.id} authenticates with private_key_jwt, not a secret")
        org = orgs.get(uow.session, client.org_id)
        assert org is not None  # a foreign key
        secret = client.set_new_secret(uow.clock.now())
        uow.commit()
        return IssuedCredentials(
            client.id, secret, org.id, org.kind, client.scope, client.auth_method
        )


def revoke_token(cmd: RevokeToken, uow: UnitOfWork) -> None:
    """Records the token's id until its expiry and announces it (services/clients/refusals.py);
    revoking twice is harmless."""
    with uow:
        now = uow.clock.now()
        # Rows of tokens that have expired anyway are no longer needed.
        uow.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
        if repository.get_revoked(uow.session, cmd.jti) is None:
            uow.session.add(
                RevokedToken(
                    jti=cmd.jti, client_id=cmd.client_id, expires_at=cmd.expires_at, revoked_at=now
                )
            )
            announce(uow.session, Refusals(revoked={cmd.jti: cmd.expires_at.timestamp()}))
        try:
            uow.commit()
        except IntegrityError:
            uow.rollback()  # revoked (and announced) by a concurrent request: the same outcome


def use_assertion(cmd: UseAssertion, uow: UnitOfWork) -> bool:
    """Spends a client assertion's `jti`: True the first time, False for a replay."""
    with uow:
        now = uow.clock.now()
        uow.session.execute(delete(UsedAssertion).where(UsedAssertion.expires_at < now))
        if repository.get_used_assertion(uow.session, cmd.client_id, cmd.jti) is not None:
            return False
        uow.session.add(
            UsedAssertion(client_id=cmd.client_id, jti=cmd.jti, expires_at=cmd.expires_at)
        )
        try:
            uow.commit()
        except IntegrityError:
            uow.rollback()  # the same assertion, presented twice at once
            return False
        return True


def _get(uow: UnitOfWork, client_id: str) -> OAuthClient:
    client = repository.get(uow.session, client_id)
    if client is None:
        raise NotFound(f"client {client_id} does not exist")
    return client


def _check_scopes(scopes: list[str], allowed: frozenset[str], kind: str) -> None:
    unknown = [s for s in scopes if s not in ALL_SCOPES]
    if unknown:
        raise InvalidInput(
            "invalid_scope: unknown scope", errors={"scope": [f"unknown: {' '.join(unknown)}"]}
        )
    refused = [s for s in scopes if s not in allowed]
    if refused:
        raise InvalidInput(
            f"invalid_scope: an org of kind {kind} may not hold {' '.join(refused)}",
            errors={"scope": [f"not allowed for {kind}: {' '.join(refused)}"]},
        )
    if not scopes:
        raise InvalidInput("a client needs at least one scope", errors={"scope": ["empty"]})


def _checked_jwks(jwks: dict[str, Any]) -> dict[str, Any]:
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys:
        raise InvalidInput("the JWKS has no keys", errors={"jwks": ['expected {"keys": [...]}']})
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") not in _ASYMMETRIC_KTY:
            raise InvalidInput(
                "the JWKS may hold only EC, RSA or OKP public keys",
                errors={"jwks": ["only asymmetric public keys"]},
            )
        if _PRIVATE_MEMBERS & set(key):
            raise InvalidInput(
                "the JWKS holds private key material: register the public keys only",
                errors={"jwks": ["private key material"]},
            )
    return {"keys": keys}
