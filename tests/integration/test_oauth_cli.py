"""The operator's OAuth commands: clients create|list|disable|rotate-secret, keys rotate, demo."""

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask.testing import FlaskClient
from jwcrypto import jwk
from sqlalchemy import select

from coordination.auth.cli import DEMO_CLIENT_NAME
from coordination.auth.keys import KeyStore
from coordination.cli import DEMO_ORGS, main
from coordination.runtime import Runtime
from services.clients.models import OAuthClient
from services.orgs.commands import CreateOrg
from services.orgs.handlers import create_org
from tests.conftest import unique
from tests.support.agencies import basic_auth


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "COORDINATION_ISSUER": "http://coordination.test",
        "COORDINATION_SIGNING_KEY_FILE": str(tmp_path / "keys" / "signing.json"),
    }


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def new_org(rt: Runtime, kind: str) -> str:
    org_id = unique(kind.replace("_", "-"))
    create_org(CreateOrg(org_id, kind, "X"), rt.uow())
    return org_id


def token_status(client: FlaskClient, client_id: str, secret: str) -> int:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_auth(client_id, secret)},
    )
    return response.status_code


def test_clients_create_prints_credentials_that_get_a_token(
    cli_env: dict[str, str], rt: Runtime, client: FlaskClient
) -> None:
    org_id = new_org(rt, "police")
    result = run(
        cli_env, "clients", "create", "--org", org_id, "--scopes", "cases.read referrals.read"
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["org"] == org_id
    assert printed["scope"] == "cases.read referrals.read"
    assert printed["token_endpoint_auth_method"] == "client_secret_basic"
    assert token_status(client, printed["client_id"], printed["client_secret"]) == 200


def test_clients_create_refuses_scopes_beyond_the_org_kind(
    cli_env: dict[str, str], rt: Runtime
) -> None:
    org_id = new_org(rt, "police")
    result = run(cli_env, "clients", "create", "--org", org_id, "--scopes", "cases.read pii.write")
    assert result.exit_code == 1
    assert "invalid_scope" in result.output
    assert "pii.write" in result.output
    assert "Traceback" not in result.output
    with rt.session_factory() as session:
        assert not session.scalars(select(OAuthClient).where(OAuthClient.org_id == org_id)).all()


def test_clients_create_refuses_an_unknown_org(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "clients", "create", "--org", "no-such-org", "--scopes", "cases.read")
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_clients_create_with_a_jwks_file_makes_a_private_key_jwt_client(
    cli_env: dict[str, str], rt: Runtime, client: FlaskClient, tmp_path: Path
) -> None:
    org_id = new_org(rt, "standards_commission")
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="k1")
    jwks_file = tmp_path / "agency.jwks.json"
    jwks_file.write_text(json.dumps({"keys": [json.loads(key.export_public())]}))
    result = run(
        cli_env, "clients", "create", "--org", org_id, "--scopes", "content.read",
        "--jwks-file", str(jwks_file),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["client_secret"] is None
    assert printed["token_endpoint_auth_method"] == "private_key_jwt"
    from tests.integration.test_oauth_token import KeyedClient, form_for

    assertion = KeyedClient(printed["client_id"], key, "ES256").assertion()
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials", **form_for(assertion)}
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def test_clients_create_accepts_a_pem_public_key(
    cli_env: dict[str, str], rt: Runtime, tmp_path: Path
) -> None:
    org_id = new_org(rt, "police")
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = tmp_path / "agency.pem"
    pem.write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    result = run(
        cli_env, "clients", "create", "--org", org_id, "--scopes", "cases.read",
        "--jwks-file", str(pem),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["token_endpoint_auth_method"] == "private_key_jwt"


@pytest.mark.parametrize(
    "content",
    [
        json.dumps(json.loads(jwk.JWK.generate(kty="EC", crv="P-256").export_private())),
        json.dumps({"kty": "oct", "k": "c2VjcmV0"}),
        "not a key",
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
    ],
)
def test_clients_create_refuses_private_or_symmetric_key_files(
    cli_env: dict[str, str], rt: Runtime, tmp_path: Path, content: str
) -> None:
    org_id = new_org(rt, "police")
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(content)
    result = run(
        cli_env, "clients", "create", "--org", org_id, "--scopes", "cases.read",
        "--jwks-file", str(keys_file),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert '"d"' not in result.output  # never echoes key material


def test_clients_list_shows_clients_without_secrets(cli_env: dict[str, str], rt: Runtime) -> None:
    org_id = new_org(rt, "legal_aid")
    created = json.loads(
        run(cli_env, "clients", "create", "--org", org_id, "--scopes", "cases.read").output
    )
    result = run(cli_env, "clients", "list", "--org", org_id)
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [c["client_id"] for c in listed] == [created["client_id"]]
    assert listed[0]["disabled_at"] is None
    assert created["client_secret"] not in result.output
    assert "secret_hash" not in result.output
    assert "scrypt" not in result.output


def test_clients_disable_stops_tokens_and_live_tokens(
    cli_env: dict[str, str], rt: Runtime, client: FlaskClient
) -> None:
    org_id = new_org(rt, "police")
    created = json.loads(
        run(cli_env, "clients", "create", "--org", org_id, "--scopes", "cases.read").output
    )
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic_auth(created["client_id"], created["client_secret"])},
    )
    live = response.json["access_token"]  # type: ignore[index]
    probe = {"Authorization": f"Bearer {live}"}
    assert client.get("/v1/oauth-cli-probe", headers=probe).status_code == 404

    result = run(cli_env, "clients", "disable", created["client_id"])
    assert result.exit_code == 0, result.output

    assert client.get("/v1/oauth-cli-probe", headers=probe).status_code == 401
    assert token_status(client, created["client_id"], created["client_secret"]) == 401
    listed = json.loads(run(cli_env, "clients", "list", "--org", org_id).output)
    assert listed[0]["disabled_at"] is not None


def test_clients_disable_of_an_unknown_client_fails_cleanly(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "clients", "disable", "no-such-client")
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_clients_rotate_secret_prints_a_new_secret_and_retires_the_old(
    cli_env: dict[str, str], rt: Runtime, client: FlaskClient
) -> None:
    org_id = new_org(rt, "counseling")
    created = json.loads(
        run(cli_env, "clients", "create", "--org", org_id, "--scopes", "cases.read").output
    )
    result = run(cli_env, "clients", "rotate-secret", created["client_id"])
    assert result.exit_code == 0, result.output
    rotated = json.loads(result.output)
    assert rotated["client_id"] == created["client_id"]
    assert rotated["client_secret"] != created["client_secret"]
    assert token_status(client, created["client_id"], created["client_secret"]) == 401
    assert token_status(client, created["client_id"], rotated["client_secret"]) == 200


def test_keys_rotate_adds_a_key_and_keeps_the_old_one_published(
    cli_env: dict[str, str],
) -> None:
    path = Path(cli_env["COORDINATION_SIGNING_KEY_FILE"])
    first = run(cli_env, "keys", "rotate")
    assert first.exit_code == 0, first.output
    assert path.exists()
    second = json.loads(run(cli_env, "keys", "rotate").output)
    store = KeyStore(path, 600)
    assert store.current().kid == second["kid"]
    assert set(second["published"]) == {k.kid for k in store.published()}
    assert len(second["published"]) == 3  # the first key, and two rotations within its lifetime
    assert json.loads(first.output)["kid"] in second["published"]


def demo_clients_in_db(rt: Runtime) -> dict[str, list[OAuthClient]]:
    with rt.session_factory() as session:
        rows = session.scalars(
            select(OAuthClient).where(
                OAuthClient.name == DEMO_CLIENT_NAME,
                OAuthClient.disabled_at.is_(None),
                OAuthClient.org_id.in_([org for org, _, _ in DEMO_ORGS]),
            )
        ).all()
    found: dict[str, list[OAuthClient]] = {}
    for row in rows:
        found.setdefault(row.org_id, []).append(row)
    return found


def test_demo_prints_one_working_client_per_org_and_reruns_safely(
    cli_env: dict[str, str], rt: Runtime, client: FlaskClient
) -> None:
    # Start from no live demo clients (another test may have run the demo already).
    for rows in demo_clients_in_db(rt).values():
        for row in rows:
            assert run(cli_env, "clients", "disable", row.id).exit_code == 0

    first = run(cli_env, "demo")
    assert first.exit_code == 0, first.output
    seeded: list[dict[str, Any]] = json.loads(first.output)["clients"]
    assert [c["org"] for c in seeded] == [org for org, _, _ in DEMO_ORGS]
    for entry in seeded:
        assert entry["status"] == "created"
        response = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic_auth(entry["client_id"], entry["client_secret"])},
        )
        assert response.status_code == 200, entry["org"]
        claims = jwt.decode(response.json["access_token"], options={"verify_signature": False})  # type: ignore[index]
        assert claims["org"] == entry["org"]

    again = run(cli_env, "demo")
    assert again.exit_code == 0, again.output
    rerun = json.loads(again.output)["clients"]
    assert [c["client_id"] for c in rerun] == [c["client_id"] for c in seeded]
    for entry in rerun:
        assert entry["status"] == "exists"
        assert entry["client_secret"] is None
        assert "rotate-secret" in entry["note"]
    assert {org: len(rows) for org, rows in demo_clients_in_db(rt).items()} == {
        org: 1 for org, _, _ in DEMO_ORGS
    }
