"""The per-request check that a validly signed token is still good: not revoked, its client
existing and not disabled. It runs on every authenticated request, so on PostgreSQL it asks no
database.

Each process keeps in memory every client (and whether it is disabled) and every revoked token
not yet expired (services/clients/refusals.py). A listener thread keeps that memory current, on
an autocommit connection of its own: it LISTENs on `coordination_refusals` *first* and loads
everything *then*, so a change committed before the load is in it and one committed after is
announced to it. The transactions that create or disable a client or revoke a token NOTIFY in
the same transaction: every other process applies the change as soon as PostgreSQL delivers it,
milliseconds after the commit, and the process that made the change applies it itself as the
commit returns, so there the token is refused from the very next request on.

Fail safe: the memory is trusted only while the listener holds its connection and has seen it
answer within the last TRUST_S seconds (it asks every HEARTBEAT_S). Before the first load, after
a lost connection, or when the connection hangs, every request asks the database (one indexed
query, as before), and a reconnected listener loads everything again before the memory is
trusted again. A token of a client the memory does not know (one created a moment ago, or none
at all) is also checked in the database. On SQLite (a local file, no LISTEN) every request asks
the database.

A client is retired by disabling it: a client row deleted by hand is not announced, and its
tokens would be accepted until they expire.
"""

import logging
import threading
import time
import weakref
from datetime import UTC, datetime

import psycopg
from flask import Flask
from sqlalchemy import URL, Engine, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from coordination.runtime import runtime
from services.clients.queries import DISABLED, REVOKED, token_refusal
from services.clients.refusals import CHANNEL, Refusals, load_refusals, subscribe
from services.db import is_sqlite

log = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
TRUST_S = 3.0
RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)  # waits between reconnections, the last one repeated
APPLICATION_NAME = "coordination-refusals"  # how its connections show in pg_stat_activity


class Memory:
    """The refusals this process knows of, and until when they may be trusted. Thread-safe:
    `Refusals` are never changed once built, so a request reads the current one without a lock;
    changes and loads build a new one and put it in place under the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known = Refusals()
        self._trusted_until = 0.0  # time.monotonic()
        self._during_load: Refusals | None = None  # changes applied while a load runs

    def trusted(self) -> bool:
        return time.monotonic() < self._trusted_until

    @property
    def known(self) -> Refusals:
        return self._known

    def apply(self, change: Refusals) -> None:
        with self._lock:
            self._known = self._known | change
            if self._during_load is not None:
                self._during_load = self._during_load | change

    def distrust(self) -> None:
        with self._lock:
            self._trusted_until = 0.0
            self._during_load = None

    def loading(self) -> None:
        """A load starts: what is applied from now on survives its snapshot."""
        with self._lock:
            self._trusted_until = 0.0
            self._during_load = Refusals()

    def loaded(self, snapshot: Refusals) -> None:
        with self._lock:
            self._known = snapshot | (self._during_load or Refusals())
            self._during_load = None
            self._trusted_until = time.monotonic() + TRUST_S

    def confirmed(self, now: float) -> None:
        """The listener's connection answered: trust a while longer, forget expired tokens."""
        with self._lock:
            known = self._known
            if any(until < now for until in known.revoked.values()):
                live = {jti: until for jti, until in known.revoked.items() if until >= now}
                self._known = Refusals(known.clients, known.disabled, live)
            self._trusted_until = time.monotonic() + TRUST_S


class Listener:
    """The thread that keeps a Memory current (PostgreSQL only)."""

    def __init__(self, url: URL, memory: Memory) -> None:
        self._engine: Engine = create_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            hide_parameters=True,
            # A connection that dies silently is noticed by the kernel within ~10 s; meanwhile
            # the heartbeat's lapse already stops the memory being trusted.
            connect_args={
                "application_name": APPLICATION_NAME,
                "connect_timeout": 5,
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 3,
            },
        )
        self._memory = memory
        self._failures = 0  # reconnections in a row, for the wait before the next one
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="refusals-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Returns at once; the thread closes its connection within HEARTBEAT_S."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except (DBAPIError, psycopg.Error, OSError):
                log.warning("refusals listener: connection lost, asking the database per request")
            except Exception:
                # An unreadable announcement included: what else was missed is unknown.
                log.exception("refusals listener failed, asking the database per request")
            finally:
                self._memory.distrust()
            self._stop.wait(RETRY_S[min(self._failures, len(RETRY_S) - 1)])
            self._failures += 1
        self._engine.dispose()

    def _listen(self) -> None:
        with self._engine.connect() as connection:
            driver = connection.connection.driver_connection
            assert isinstance(driver, psycopg.Connection)
            connection.exec_driver_sql(f"LISTEN {CHANNEL}")
            self._memory.loading()
            self._memory.loaded(load_refusals(connection, datetime.now(UTC)))
            self._failures = 0
            while not self._stop.is_set():
                for notify in driver.notifies(timeout=HEARTBEAT_S):
                    self._memory.apply(Refusals.from_payload(notify.payload))
                connection.exec_driver_sql("SELECT 1")
                self._memory.confirmed(time.time())


class RefusalCheck:
    """Called with a validly signed token's client id and jti: why it must be refused, or None."""

    def __init__(self, app: Flask) -> None:
        self._engine = runtime(app).engine
        self._memory = Memory()
        subscribe(self._memory.apply)  # what this process commits, at once
        if not is_sqlite(runtime(app).settings.database_url):
            listener = Listener(self._engine.url, self._memory)
            listener.start()
            # Stopped with the app (or at exit); the thread holds no reference to the app.
            weakref.finalize(app, listener.stop)

    @property
    def in_memory(self) -> bool:
        """Whether requests are answered from memory now (False: each asks the database)."""
        return self._memory.trusted()

    def __call__(self, client_id: str, jti: str) -> str | None:
        if self._memory.trusted():
            known = self._memory.known
            if client_id in known.clients:
                if jti in known.revoked:
                    return REVOKED
                return DISABLED if client_id in known.disabled else None
        with self._engine.connect() as connection:
            return token_refusal(connection, client_id, jti)
