"""A database of a test's own, dropped after it: for tests that migrate a database up and down
(the session's test database stays at head for every other test)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import text

from services.db import make_engine
from tests.conftest import is_postgres, unique


@contextmanager
def scratch_database(database_url: str, directory: Path) -> Iterator[str]:
    """An empty database next to DATABASE_URL's (a file in DIRECTORY on SQLite); its URL."""
    if not is_postgres(database_url):
        yield f"sqlite:///{directory / (unique('scratch') + '.sqlite3')}"
        return
    name = unique("scratch").replace("-", "_")
    admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
