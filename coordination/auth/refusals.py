"""The per-request check that a validly signed token is still good: not revoked, its client
not disabled. It runs on every /v1 request, so it is one indexed query and as few round trips
as the database allows: on PostgreSQL an autocommit connection (no BEGIN, no ROLLBACK)."""

from coordination.runtime import Runtime
from services.clients.queries import token_refusal
from services.db import is_sqlite


def refusal(rt: Runtime, client_id: str, jti: str) -> str | None:
    """Why the token must be refused, or None."""
    if is_sqlite(rt.settings.database_url):
        # SQLite's engine takes its lock at BEGIN; a plain session keeps its locking rules.
        with rt.session_factory() as session:
            return token_refusal(session, client_id, jti)
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return token_refusal(connection, client_id, jti)
