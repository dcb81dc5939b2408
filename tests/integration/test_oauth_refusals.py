"""Revoked tokens and disabled clients, refused across requests, processes and lost connections
(coordination/auth/refusals.py, services/clients/refusals.py).

`/v1/oauth-refusals-probe` is routed nowhere: a good token gets 404 there, a refused one 401.
The tests marked PostgreSQL are about the listener (SQLite has none: every request asks).
"""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from coordination.auth import refusals
from coordination.auth.refusals import Memory
from coordination.auth.state import auth_state
from coordination.config import Settings
from coordination.runtime import Runtime
from services.clients.commands import CreateClient, DisableClient
from services.clients.handlers import create_client, disable_client
from services.clients.queries import DISABLED, REVOKED
from services.clients.refusals import CHANNEL, Refusals
from tests.conftest import is_postgres
from tests.support.agencies import Agencies, Agency, basic_auth, fetch_token
from tests.support.backends import terminate_backends
from tests.support.stream import wait_for

PROBE = "/v1/oauth-refusals-probe"


def status(client: FlaskClient, token: str) -> int:
    return client.get(PROBE, headers={"Authorization": f"Bearer {token}"}).status_code


def detail(client: FlaskClient, token: str) -> str:
    response = client.get(PROBE, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    return str(response.json["detail"])  # type: ignore[index]


def revoke(client: FlaskClient, agency: Agency, token: str) -> None:
    response = client.post(
        "/oauth/revoke",
        data={"token": token},
        headers={"Authorization": basic_auth(agency.client_id, agency.client_secret)},
    )
    assert response.status_code == 200


def in_memory(app: Flask) -> bool:
    return auth_state(app).refusal.in_memory


def listening(app: Flask) -> None:
    wait_for(lambda: in_memory(app), timeout=10.0, what="the refusals listener")


@pytest.fixture
def postgres(settings: Settings) -> None:
    if not is_postgres(settings.database_url):
        pytest.skip("the LISTEN/NOTIFY listener is PostgreSQL's; SQLite asks on every request")


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The token ids the refusal check asked the database about."""
    calls: list[str] = []
    real = refusals.token_refusal

    def counting(connection: Any, client_id: str, jti: str) -> str | None:
        calls.append(jti)
        return real(connection, client_id, jti)

    monkeypatch.setattr(refusals, "token_refusal", counting)
    return calls


def block_announcements(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Each listener blocks on the first announcement it reads, until the event is set."""
    release = threading.Event()
    parse = Refusals.from_payload

    def blocked(cls: type[Refusals], payload: str) -> Refusals:
        release.wait()
        return parse(payload)

    monkeypatch.setattr(Refusals, "from_payload", classmethod(blocked))
    return release


@pytest.fixture
def deaf_listeners(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, app: Flask
) -> Iterator[None]:
    """The listeners of this process hear no announcement (each blocks on the first one) yet
    stay trusted: the app answers from what this process applied itself, or from the database."""
    release = block_announcements(monkeypatch)
    trust_s = refusals.TRUST_S
    monkeypatch.setattr(refusals, "TRUST_S", 60.0)
    if is_postgres(settings.database_url):
        # Still trusted once the old trust has run out: renewed since, for a minute.
        time.sleep(trust_s + 0.5)
        listening(app)
    yield
    release.set()


# -- in the process that made the change: from the very next request on ------------------------


def test_revoked_token_is_refused_on_the_very_next_request(
    client: FlaskClient,
    agencies: Agencies,
    settings: Settings,
    deaf_listeners: None,
    asked: list[str],
) -> None:
    police = agencies.new("police")
    other = police.new_token()
    assert status(client, police.token) == 404
    revoke(client, police, police.token)
    assert detail(client, police.token) == REVOKED
    assert status(client, other) == 404  # only that token
    assert (asked == []) == is_postgres(settings.database_url)  # PostgreSQL: from memory


def test_disabled_clients_live_tokens_are_refused_on_the_next_request(
    client: FlaskClient,
    agencies: Agencies,
    rt: Runtime,
    settings: Settings,
    deaf_listeners: None,
    asked: list[str],
) -> None:
    police = agencies.new("police")
    second = police.new_token()
    sibling = agencies.client_of(police.org, "police")
    assert status(client, police.token) == 404
    disable_client(DisableClient(police.client_id), rt.uow())
    assert detail(client, police.token) == DISABLED
    assert detail(client, second) == DISABLED
    assert status(client, sibling.token) == 404  # another client of the same org
    assert (asked == []) == is_postgres(settings.database_url)


def test_a_client_the_memory_does_not_know_is_checked_in_the_database(
    app: Flask,
    client: FlaskClient,
    agencies: Agencies,
    rt: Runtime,
    deaf_listeners: None,
    monkeypatch: pytest.MonkeyPatch,
    asked: list[str],
) -> None:
    """A client created by another process a moment ago: its announcement has not arrived."""
    police = agencies.new("police")
    from services.clients import refusals as announcements

    monkeypatch.setattr(announcements, "_subscribers", [])  # this process applies nothing
    issued = create_client(CreateClient(police.org, "cases.read"), rt.uow())
    assert issued.client_secret is not None
    token = fetch_token(client, issued.client_id, issued.client_secret, None)
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    assert status(client, token) == 404
    disable_client(DisableClient(issued.client_id), rt.uow())
    assert detail(client, token) == DISABLED
    assert asked == [jti, jti]


# -- other processes (PostgreSQL) -------------------------------------------------------------


def test_a_client_disabled_by_the_command_line_is_refused_within_moments(
    app: Flask,
    client: FlaskClient,
    agencies: Agencies,
    settings: Settings,
    postgres: None,
    asked: list[str],
) -> None:
    police = agencies.new("police")
    assert status(client, police.token) == 404
    listening(app)
    command = Path(sys.executable).parent / "coordination"
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "COORDINATION_ISSUER": settings.issuer,
        "COORDINATION_SIGNING_KEY_FILE": str(settings.signing_key_file),
    }
    subprocess.run(
        [str(command), "clients", "disable", police.client_id],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    committed = time.monotonic()
    wait_for(lambda: status(client, police.token) == 401, timeout=2.0, what="the refusal")
    assert time.monotonic() - committed < 2.0
    assert asked == []  # told by the NOTIFY, not found by asking


def test_a_token_revoked_on_another_connection_is_refused_within_moments(
    app: Flask,
    client: FlaskClient,
    agencies: Agencies,
    rt: Runtime,
    postgres: None,
    asked: list[str],
) -> None:
    """What another process's revocation commits: the row and the NOTIFY, in one transaction."""
    police = agencies.new("police")
    assert status(client, police.token) == 404
    listening(app)
    jti = jwt.decode(police.token, options={"verify_signature": False})["jti"]
    insert_revoked(rt, police.client_id, jti, announce=True)
    wait_for(lambda: status(client, police.token) == 401, timeout=2.0, what="the refusal")
    assert detail(client, police.token) == REVOKED
    assert asked == []


def insert_revoked(rt: Runtime, client_id: str, jti: str, *, announce: bool) -> None:
    """On a connection of its own, as another process would (without the NOTIFY: a process
    whose announcement was lost)."""
    until = datetime.now(UTC) + timedelta(minutes=20)
    with rt.engine.begin() as other:
        other.execute(
            text(
                "INSERT INTO oauth_revoked_tokens (jti, client_id, expires_at, revoked_at) "
                "VALUES (:jti, :client_id, :until, now())"
            ),
            {"jti": jti, "client_id": client_id, "until": until},
        )
        if announce:
            payload = Refusals(revoked={jti: until.timestamp()}).to_payload()
            other.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {
                    "channel": CHANNEL,
                    "payload": payload,
                },
            )


# -- the listener's connection lost or hanging (PostgreSQL) -------------------------------------


def test_a_killed_listener_connection_falls_back_to_the_database_then_reloads(
    app: Flask,
    client: FlaskClient,
    agencies: Agencies,
    rt: Runtime,
    postgres: None,
    monkeypatch: pytest.MonkeyPatch,
    asked: list[str],
) -> None:
    police = agencies.new("police")
    kept = police.new_token()
    listening(app)
    monkeypatch.setattr(refusals, "RETRY_S", (1.5,))  # stays away long enough to be seen away
    killed = terminate_backends(
        rt.engine, "application_name = :name", name=refusals.APPLICATION_NAME
    )
    assert killed >= 1
    wait_for(lambda: not in_memory(app), timeout=2.0, what="the memory distrusted")

    # Revoked while nobody listens, and never announced: only the database knows.
    jti = jwt.decode(police.token, options={"verify_signature": False})["jti"]
    insert_revoked(rt, police.client_id, jti, announce=False)
    assert detail(client, police.token) == REVOKED
    assert status(client, kept) == 404
    assert len(asked) == 2  # the database's answers

    listening(app)  # reconnected, and loaded everything again
    asked.clear()
    assert detail(client, police.token) == REVOKED
    assert status(client, kept) == 404
    assert asked == []  # from the memory, which the reload taught


def test_a_hanging_listener_stops_being_trusted(
    app: Flask,
    client: FlaskClient,
    agencies: Agencies,
    rt: Runtime,
    postgres: None,
    monkeypatch: pytest.MonkeyPatch,
    asked: list[str],
) -> None:
    """A listener stuck (here: on an announcement it cannot get past) stops renewing its trust;
    within TRUST_S the requests ask the database again."""
    police = agencies.new("police")
    listening(app)
    release = block_announcements(monkeypatch)
    try:
        with rt.engine.begin() as other:
            other.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": "{}"})
        wait_for(lambda: not in_memory(app), timeout=refusals.TRUST_S + 3, what="trust to lapse")
        jti = jwt.decode(police.token, options={"verify_signature": False})["jti"]
        insert_revoked(rt, police.client_id, jti, announce=False)
        assert detail(client, police.token) == REVOKED
    finally:
        release.set()
    listening(app)  # the unreadable "{}" made it start again, and load everything
    asked.clear()
    assert detail(client, police.token) == REVOKED
    assert asked == []


# -- the memory itself ----------------------------------------------------------------------


def test_a_change_applied_while_loading_survives_the_loads_snapshot() -> None:
    memory = Memory()
    memory.loading()
    memory.apply(Refusals(revoked={"late": time.time() + 600}))  # committed after the snapshot
    memory.loaded(Refusals(clients=frozenset({"c"})))
    assert "late" in memory.known.revoked
    assert memory.trusted()
    memory.distrust()
    assert not memory.trusted()


def test_confirming_forgets_only_expired_revocations() -> None:
    memory = Memory()
    now = time.time()
    memory.loading()
    memory.loaded(Refusals(revoked={"old": now - 1, "live": now + 600}))
    memory.confirmed(now)
    assert set(memory.known.revoked) == {"live"}


@pytest.mark.parametrize(
    "payload", ["", "{}", "[]", '{"clients": "ab", "disabled": [], "revoked": {}}']
)
def test_an_announcement_that_is_not_ours_is_not_read(payload: str) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        Refusals.from_payload(payload)


def test_announcements_read_back_as_written() -> None:
    change = Refusals(frozenset({"a"}), frozenset({"b"}), {"j": 1.5})
    assert Refusals.from_payload(change.to_payload()) == change
