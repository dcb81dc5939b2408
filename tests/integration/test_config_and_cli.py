"""Start-up settings and the operator's command line."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from coordination.cli import DEMO_ORGS, main
from coordination.config import ConfigError, Settings
from tests.conftest import unique


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://root@localhost/db"),
        ("COORDINATION_ISSUER", "not a url"),
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost"),
        ("KAFKA_SECURITY_PROTOCOL", "TELNET"),
        ("COORDINATION_ACCESS_TOKEN_TTL", "ten"),
        ("COORDINATION_RATE_LIMIT_BURST", "0"),
        ("KAFKA_FETCH_MAX_WAIT_MS", "soon"),
    ],
)
def test_invalid_setting_is_refused_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_the_consumers_fetch_wait_is_short_unless_configured() -> None:
    # Short by default: the embedded broker holds a waiting fetch even when records arrived.
    assert Settings.from_env({}).kafka_fetch_max_wait_ms == 25
    assert Settings.from_env({"KAFKA_FETCH_MAX_WAIT_MS": "500"}).kafka_fetch_max_wait_ms == 500


def test_invalid_setting_stops_the_command_with_one_line() -> None:
    env = {**os.environ, "DATABASE_URL": "mysql://root@localhost/db"}
    result = subprocess.run(
        [sys.executable, "-m", "coordination.cli", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "DATABASE_URL" in lines[0]


@pytest.fixture
def cli_env(database_url: str, key_dir: object) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "COORDINATION_ISSUER": "http://coordination.test"}


def test_orgs_create_registers_an_org(cli_env: dict[str, str]) -> None:
    org_id = unique("police")
    runner = CliRunner()
    created = runner.invoke(
        main, ["orgs", "create", "--id", org_id, "--kind", "police", "--name", "X"], env=cli_env
    )
    assert created.exit_code == 0, created.output
    assert json.loads(created.output)["id"] == org_id
    listed = runner.invoke(main, ["orgs", "list"], env=cli_env)
    assert org_id in {org["id"] for org in json.loads(listed.output)}


def test_orgs_create_refuses_an_unknown_kind_without_a_traceback(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        main, ["orgs", "create", "--id", unique("x"), "--kind", "bank", "--name", "X"], env=cli_env
    )
    assert result.exit_code == 1
    assert "kind" in result.output
    assert "Traceback" not in result.output


def test_orgs_create_refuses_a_duplicate_id(cli_env: dict[str, str]) -> None:
    org_id = unique("kcsc")
    args = ["orgs", "create", "--id", org_id, "--kind", "standards_commission", "--name", "X"]
    assert CliRunner().invoke(main, args, env=cli_env).exit_code == 0
    again = CliRunner().invoke(main, args, env=cli_env)
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_demo_creates_the_contract_orgs_and_can_run_again(cli_env: dict[str, str]) -> None:
    for _ in range(2):
        result = CliRunner().invoke(main, ["demo"], env=cli_env)
        assert result.exit_code == 0, result.output
    listed = json.loads(CliRunner().invoke(main, ["orgs", "list"], env=cli_env).output)
    kinds = {org["id"]: org["kind"] for org in listed}
    for org_id, kind, _ in DEMO_ORGS:
        assert kinds[org_id] == kind
