"""`coordination clients ...` and `coordination keys rotate` (CONTRACT section 6, issue 3).

Secrets are printed once, when created or rotated, and never again: only their hash is kept.
"""

from pathlib import Path
from typing import Any

import click

from coordination.auth.jwks import BadKeys, load_public_jwks
from coordination.auth.keys import KeyStore
from coordination.cli_support import domain_errors, echo_json, open_runtime, settings
from coordination.runtime import Runtime
from services.clients.commands import CreateClient, DisableClient, RotateSecret
from services.clients.handlers import (
    IssuedCredentials,
    create_client,
    disable_client,
    rotate_secret,
)
from services.clients.queries import find_named_client, list_clients

#: The name the demo gives the one client it seeds per org, to find it again on a re-run.
DEMO_CLIENT_NAME = "demo"


def credentials_json(issued: IssuedCredentials) -> dict[str, Any]:
    return {
        "client_id": issued.client_id,
        "client_secret": issued.client_secret,
        "org": issued.org,
        "org_kind": issued.org_kind,
        "scope": issued.scope,
        "token_endpoint_auth_method": issued.auth_method,
    }


@click.group()
def clients() -> None:
    """OAuth clients of partner agencies' systems."""


@clients.command("create")
@click.option("--org", "org_id", required=True, help="The org the client belongs to.")
@click.option(
    "--scopes",
    required=True,
    help='Space-separated, e.g. "cases.read referrals.read"; only what the org kind may hold.',
)
@click.option(
    "--jwks-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The client's public keys (JWKS, JWK or PEM): it authenticates with private_key_jwt.",
)
@click.option("--name", default="", help="A label for operators.")
@domain_errors
def clients_create(org_id: str, scopes: str, jwks_file: Path | None, name: str) -> None:
    """Create a client; prints its client_id and client_secret (shown this once only)."""
    jwks = None
    if jwks_file is not None:
        try:
            jwks = load_public_jwks(jwks_file.read_text())
        except (BadKeys, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{jwks_file}: {exc}") from None
    with open_runtime() as runtime:
        issued = create_client(CreateClient(org_id, scopes, jwks, name), runtime.uow())
    echo_json(credentials_json(issued))


@clients.command("list")
@click.option("--org", "org_id", default=None, help="Only the clients of this org.")
def clients_list(org_id: str | None) -> None:
    """List the clients (never their secrets)."""
    with open_runtime() as runtime, runtime.session_factory() as session:
        rows = list_clients(session, org_id)
    echo_json(
        [
            {
                "client_id": c.client_id,
                "org": c.org,
                "name": c.name,
                "scope": c.scope,
                "token_endpoint_auth_method": c.auth_method,
                "created_at": c.created_at.isoformat(),
                "secret_rotated_at": _iso(c.secret_rotated_at),
                "disabled_at": _iso(c.disabled_at),
            }
            for c in rows
        ]
    )


@clients.command("disable")
@click.argument("client_id")
@domain_errors
def clients_disable(client_id: str) -> None:
    """Disable a client: no new tokens, and its live tokens are refused from now on."""
    with open_runtime() as runtime:
        disable_client(DisableClient(client_id), runtime.uow())
    echo_json({"client_id": client_id, "disabled": True})


@clients.command("rotate-secret")
@click.argument("client_id")
@domain_errors
def clients_rotate_secret(client_id: str) -> None:
    """Replace a client's secret; the old one stops working at once. Prints the new one once."""
    with open_runtime() as runtime:
        issued = rotate_secret(RotateSecret(client_id), runtime.uow())
    echo_json(credentials_json(issued))


@click.group()
def keys() -> None:
    """The keys that sign access tokens."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key; the previous one stays published until its tokens have expired."""
    config = settings()
    store = KeyStore(config.signing_key_file, config.access_token_ttl_s)
    store.ensure()
    new = store.rotate()
    echo_json(
        {
            "kid": new.kid,
            "published": [key.kid for key in store.published()],
            "file": str(config.signing_key_file),
        }
    )


def seed_demo_clients(runtime: Runtime, orgs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """One client per demo org, holding every scope its kind may hold. On a re-run the existing
    client is named, without a secret: it was shown once, when the client was created."""
    seeded = []
    for org_id, _kind in orgs:
        with runtime.session_factory() as session:
            existing = find_named_client(session, org_id, DEMO_CLIENT_NAME)
        if existing is not None:
            seeded.append(
                {
                    "org": org_id,
                    "client_id": existing,
                    "client_secret": None,
                    "status": "exists",
                    "note": (
                        "its secret was printed when it was created; for a new one run "
                        f"`coordination clients rotate-secret {existing}`"
                    ),
                }
            )
            continue
        issued = create_client(CreateClient(org_id, None, name=DEMO_CLIENT_NAME), runtime.uow())
        seeded.append({**credentials_json(issued), "status": "created"})
    return seeded


def register(main: click.Group) -> None:
    main.add_command(clients)
    main.add_command(keys)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


__all__ = ["clients", "keys", "register", "seed_demo_clients"]
