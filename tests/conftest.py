"""Shared fixtures: a migrated database (SQLite, or PostgreSQL via TEST_DATABASE_URL), the app,
and the embedded broker. Tests create their own orgs with random ids, so they never collide."""

import hashlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient

from coordination.app import create_app
from coordination.config import Settings
from coordination.runtime import Runtime, runtime
from events.broker import EmbeddedBroker
from migrations import alembic_config
from tests.support.tcp_proxy import TcpProxy

pytest_plugins = ["tests.support.fixtures"]


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    )
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


def audit_key_file(database_url: str, key_dir: Path) -> Path:
    """A TEST_DATABASE_URL database outlives the session, and the audit checkpoints in it stay
    signed by the key that made them (the signer refuses to extend a log it cannot check): so
    that key is kept per database, outside the session's temporary directory (issue 6)."""
    if not os.environ.get("TEST_DATABASE_URL"):
        return key_dir / "audit-key"
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "coordination-test-audit-keys" / digest


@pytest.fixture(scope="session")
def settings(database_url: str, key_dir: Path) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "COORDINATION_ISSUER": "http://coordination.test",
            "COORDINATION_SIGNING_KEY_FILE": str(key_dir / "signing-keys.json"),
            "COORDINATION_DATA_KEY_FILE": str(key_dir / "data-key"),
            "COORDINATION_AUDIT_KEY_FILE": str(audit_key_file(database_url, key_dir)),
            # Tests hammer the API from one client; the limiter has its own tests.
            "COORDINATION_RATE_LIMIT_PER_S": "100000",
            "COORDINATION_RATE_LIMIT_BURST": "100000",
        }
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    yield app
    runtime(app).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def rt(app: Flask) -> Runtime:
    return runtime(app)


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as running:
        yield running


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


@pytest.fixture
def proxy(settings: Settings) -> Iterator[TcpProxy]:
    """A loopback proxy in front of the test PostgreSQL that can cut it off: an outage. SQLite,
    a local file, has no such outage: the test is skipped there."""
    if not is_postgres(settings.database_url):
        pytest.skip("an outage of a networked database; SQLite is a local file")
    parts = urlsplit(settings.database_url)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as running:
        yield running
