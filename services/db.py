"""Database plumbing shared by every domain: the declarative base, column types and engines."""

import importlib
import pkgutil
import select
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    MetaData,
    any_,
    cast,
    create_engine,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC, on SQLite too (which stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def import_all_models() -> MetaData:
    """Import every `services/<domain>/models.py`, so the metadata knows each table."""
    import services

    for info in pkgutil.iter_modules(services.__path__):
        if info.ispkg:
            try:
                importlib.import_module(f"services.{info.name}.models")
            except ModuleNotFoundError as exc:
                if exc.name != f"services.{info.name}.models":
                    raise
    return Base.metadata


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for either supported database, with the settings each one needs."""
    # Bound values may be victim data: they must never reach an exception message or a log.
    kwargs.setdefault("hide_parameters", True)
    if is_sqlite(url):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            poolclass=NullPool if ":memory:" not in url else None,
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_timeout", 5)
    # Keepalives make the kernel notice a peer that vanished without closing (a dead host, a
    # dropped route): its socket then reads as closed, which the checkout check below sees.
    kwargs.setdefault("connect_args", {"connect_timeout": 5, **KEEPALIVES})
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkout", _refuse_closed_socket)
    return engine


def _refuse_closed_socket(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection whose server has gone (a restart, a terminated backend, a failover)
    is discarded at checkout, and the pool hands out a fresh one.

    An idle connection has nothing to read unless its server has closed it (the FATAL notice,
    the end of the stream, a reset). Polling its socket costs a system call where a pre-ping
    (`SELECT 1`) costs a round trip per checkout, a sixth of a status update's statements.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection is closed")
    readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    if readable:
        raise DisconnectionError("the server closed the connection")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off so that BEGIN IMMEDIATE
    # below takes the write lock up front: two writers then queue instead of failing
    # with "database is locked" half way through a transaction.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def _dialect_name(bind: Session | Connection) -> str:
    return bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name


def dialect_insert(bind: Session | Connection, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT with the ON CONFLICT clauses of the database behind BIND (upserts): both
    supported databases have them, each in its own dialect's construct."""
    if _dialect_name(bind) == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def one_of(
    session: Session,
    column: QueryableAttribute[Any],
    values: list[Any],
    sql_type: type[TypeEngine[Any]],
) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL as `= ANY(array)`, one parameter rather than one per
    value (a batch has hundreds): far less to compile and to send."""
    if _dialect_name(session) == "postgresql":
        return column == any_(cast(values, ARRAY(sql_type)))
    return column.in_(values)
