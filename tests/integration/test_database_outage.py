"""A database that stops answering: 503 with Retry-After, nothing half-written, recovery alone."""

import dataclasses
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select, text

from coordination.app import create_app
from coordination.config import Settings
from coordination.runtime import runtime
from services.db import is_sqlite, make_engine
from services.orgs.commands import CreateOrg
from services.orgs.handlers import create_org
from services.orgs.models import Org
from tests.conftest import unique
from tests.support.backends import terminate_backends
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def proxied_app(settings: Settings, proxy: TcpProxy) -> Iterator[Flask]:
    app = create_app(
        dataclasses.replace(settings, database_url=proxy.through(settings.database_url))
    )

    @app.post("/_write_for_test/<org_id>")
    def write(org_id: str) -> tuple[dict[str, str], int]:
        create_org(CreateOrg(org_id, "police", "Outage test"), runtime().uow())
        return {"id": org_id}, 201

    yield app
    runtime(app).engine.dispose()


def orgs_named(app: Flask, org_id: str) -> int:
    with runtime(app).session_factory() as session:
        return len(session.scalars(select(Org).where(Org.id == org_id)).all())


def test_database_outage_answers_503_with_retry_after(proxied_app: Flask, proxy: TcpProxy) -> None:
    client = proxied_app.test_client()
    assert client.get("/readyz").status_code == 200
    proxy.cut()
    response = client.post(f"/_write_for_test/{unique('org')}")
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.headers["Retry-After"].isdigit()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.content_type == "application/problem+json"


def test_database_outage_writes_nothing_and_recovers_alone(
    proxied_app: Flask, proxy: TcpProxy
) -> None:
    client = proxied_app.test_client()
    org_id = unique("org")
    proxy.cut()
    assert client.post(f"/_write_for_test/{org_id}").status_code == 503
    proxy.restore()
    assert client.get("/readyz").status_code == 200
    assert orgs_named(proxied_app, org_id) == 0
    assert client.post(f"/_write_for_test/{org_id}").status_code == 201
    assert orgs_named(proxied_app, org_id) == 1


def test_a_pooled_connection_the_server_closed_is_replaced_at_checkout(database_url: str) -> None:
    """A restart or failover ends every idle connection of the pool: the next checkout sees
    the closed socket and hands out a fresh connection, so no statement meets the dead one."""
    if is_sqlite(database_url):
        pytest.skip("a server-side disconnect: PostgreSQL only")
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    with engine.connect() as connection:
        before = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert terminate_backends(engine, "pid = :pid", pid=before) == 1
    with engine.connect() as connection:
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != before
    engine.dispose()
