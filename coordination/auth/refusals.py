"""The per-request check that a validly signed token is still good: not revoked, its client
not disabled. It runs on every /v1 request, so it is one indexed query in one round trip.

On PostgreSQL it has a small pool of its own: autocommit (no BEGIN, no ROLLBACK), no pre-ping
(the app's pool pings before every checkout, which would double the round trips), and the
query (`services.clients.queries.REFUSAL`) compiled once and sent on the driver's connection.
A connection the database dropped is noticed by the query itself, and the query is tried once
more on a fresh connection. On SQLite (a local file) the app's own sessions are used.
"""

import weakref
from typing import Any

from flask import Flask
from sqlalchemy import Engine

from coordination.runtime import Runtime, runtime
from services.clients.queries import REFUSAL, refusal_reason, token_refusal
from services.db import is_sqlite, make_engine


class RefusalCheck:
    def __init__(self, app: Flask) -> None:
        self._runtime = runtime(app)
        url = self._runtime.settings.database_url
        self._engine: Engine | None = None
        self._sql = ""
        if not is_sqlite(url):
            self._engine = make_engine(
                url, pool_pre_ping=False, pool_size=4, max_overflow=12, isolation_level="AUTOCOMMIT"
            )
            self._sql = str(REFUSAL.compile(dialect=self._engine.dialect))
            # Closed with the app (or at exit), so no connection is left for the GC to find.
            weakref.finalize(app, self._engine.dispose)

    def __call__(self, client_id: str, jti: str) -> str | None:
        """Why the token must be refused, or None."""
        if self._engine is None:
            return _with_session(self._runtime, client_id, jti)
        params = {"client_id": client_id, "jti": jti}
        try:
            row = self._query(self._engine, params)
        except self._engine.dialect.loaded_dbapi.OperationalError:
            # A server restart or a terminated backend drops every pooled connection at once,
            # not just this one: start the pool afresh, then try once more.
            self._engine.dispose()
            row = self._query(self._engine, params)
        return refusal_reason(row)

    def _query(self, engine: Engine, params: dict[str, str]) -> Any:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self._sql, params)
                return cursor.fetchone()
            finally:
                cursor.close()
        except engine.dialect.loaded_dbapi.OperationalError:
            connection.invalidate()  # dropped by the server: never handed out again
            raise
        finally:
            connection.close()


def _with_session(rt: Runtime, client_id: str, jti: str) -> str | None:
    with rt.session_factory() as session:
        return token_refusal(session, client_id, jti)
