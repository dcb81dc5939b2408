"""The per-request check that a validly signed token is still good: not revoked, its client
not disabled. It runs on every /v1 request, so it is one indexed query in one round trip.

On PostgreSQL it has a small pool of its own: autocommit (no BEGIN, no ROLLBACK) and no
pre-ping (the app's pool pings before every checkout, which would double the round trips).
A connection the database dropped is noticed by the query itself, and the query is tried once
more on a fresh connection. On SQLite (a local file) the app's own sessions are used.
"""

import weakref

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from coordination.runtime import Runtime, runtime
from services.clients.queries import token_refusal
from services.db import is_sqlite, make_engine


class RefusalCheck:
    def __init__(self, app: Flask) -> None:
        self._runtime = runtime(app)
        url = self._runtime.settings.database_url
        self._engine: Engine | None = None
        if not is_sqlite(url):
            base = make_engine(url, pool_pre_ping=False, pool_size=4, max_overflow=12)
            self._engine = base.execution_options(isolation_level="AUTOCOMMIT")
            # Closed with the app (or at exit), so no connection is left for the GC to find.
            weakref.finalize(app, base.dispose)

    def __call__(self, client_id: str, jti: str) -> str | None:
        """Why the token must be refused, or None."""
        if self._engine is None:
            return _with_session(self._runtime, client_id, jti)
        try:
            return self._query(self._engine, client_id, jti)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            return self._query(self._engine, client_id, jti)  # once, on a fresh connection

    @staticmethod
    def _query(engine: Engine, client_id: str, jti: str) -> str | None:
        with engine.connect() as connection:
            return token_refusal(connection, client_id, jti)


def _with_session(rt: Runtime, client_id: str, jti: str) -> str | None:
    with rt.session_factory() as session:
        return token_refusal(session, client_id, jti)
