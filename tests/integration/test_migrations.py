"""Migrations are the only way the schema is made: they go up, down and up again cleanly."""

from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from alembic import command
from sqlalchemy import inspect, text

from migrations import alembic_config
from services.db import import_all_models, make_engine
from tests.conftest import is_postgres, unique


@pytest.fixture
def scratch_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not is_postgres(database_url):
        yield f"sqlite:///{tmp_path_factory.mktemp('scratch') / 'scratch.sqlite3'}"
        return
    name = unique("scratch").replace("-", "_")
    parts = urlsplit(database_url)
    admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_round_trip_up_down_up(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    expected = set(import_all_models().tables)
    assert tables(scratch_url) == expected
    command.downgrade(config, "base")
    assert tables(scratch_url) == set()
    command.upgrade(config, "head")
    assert tables(scratch_url) == expected
