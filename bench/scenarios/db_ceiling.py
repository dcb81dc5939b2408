"""The raw database ceiling: a three-row insert transaction through SQLAlchemy, no HTTP.

Each transaction is what a typical write use case costs the database at least: BEGIN, three
INSERT statements (say the aggregate, its outbox row and an audit row), COMMIT, on the same
engine settings as the service (services.db.make_engine, psycopg 3). The rows go into a scratch
table in the benchmark's own database, which bench/run drops afterwards.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, insert
from sqlalchemy.orm import Session

from bench.scenario import Context, PythonScenario, Sample, register, timed_threads
from services.db import make_engine, make_session_factory
from services.ids import new_id

metadata = MetaData()
ROWS = Table(
    "bench_rows",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
BODY = '{"status":"open","note":"' + "x" * 200 + '"}'  # about an outbox row's size
KINDS = ("aggregate", "outbox", "audit")


def setup(context: Context) -> dict[str, Any]:
    engine = make_engine(context.database_url)
    metadata.create_all(engine)
    engine.dispose()
    return {"rows_per_transaction": len(KINDS)}


def transaction(session: Session) -> None:
    now = datetime.now(UTC)
    for kind in KINDS:
        session.execute(insert(ROWS).values(id=new_id(), kind=kind, body=BODY, created_at=now))


def run(context: Context, threads: int, duration_s: float) -> Sample:
    engine = make_engine(context.database_url, pool_size=threads, max_overflow=0)
    session_factory = make_session_factory(engine)

    def one() -> None:
        with session_factory.begin() as session:
            transaction(session)

    try:
        timed_threads(threads, 0.2, one)  # open the pool's connections before the clock starts
        return timed_threads(threads, duration_s, one)
    finally:
        engine.dispose()


register(
    PythonScenario(
        name="db_ceiling",
        summary="three-row insert transaction through SQLAlchemy + psycopg, no HTTP",
        run=run,
        setup=setup,
        threads=(1, 4),
        unit="transactions",
    )
)
