"""Dropping a PostgreSQL server's connections, as a restart or a failover would."""

import time
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool


def terminate_backends(engine: Engine, where: str, **params: Any) -> int:
    """Terminates the client backends of ENGINE's database that match WHERE, and returns how
    many once they are gone.

    `pg_terminate_backend` only signals: a backend says goodbye on its socket a moment later,
    and only then can a pooled connection tell that it is closed (as after a real restart).
    """
    condition = (
        "datname = current_database() AND pid <> pg_backend_pid()"
        f" AND backend_type = 'client backend' AND ({where})"
    )
    admin = create_engine(engine.url, poolclass=NullPool)  # none of ENGINE's own connections
    with admin.connect() as connection:
        pids = list(
            connection.execute(
                text(f"SELECT pid FROM pg_stat_activity WHERE {condition}"), params
            ).scalars()
        )
        for pid in pids:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        deadline = time.monotonic() + 10
        while _still_running(connection, pids):
            if time.monotonic() > deadline:
                raise AssertionError("terminated backends still running after 10 s")
            time.sleep(0.01)
    admin.dispose()
    return len(pids)


def _still_running(connection: Connection, pids: list[int]) -> bool:
    connection.rollback()  # a transaction sees one snapshot of pg_stat_activity
    count = connection.execute(
        text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"), {"pids": pids}
    ).scalar_one()
    return bool(count)
