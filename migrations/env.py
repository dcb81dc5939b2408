import os
from typing import Any

from alembic import context

from services.db import UTCDateTime, import_all_models, is_sqlite, make_engine

config = context.config
target_metadata = import_all_models()
# Run from the command line (`alembic -c migrations/alembic.ini check`) the URL comes from the
# environment; `coordination db upgrade` passes it in the config.
url = config.get_main_option("sqlalchemy.url") or os.environ["DATABASE_URL"]


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations stay free of application types: a UTC timestamp is a plain timestamptz column.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=is_sqlite(url),  # SQLite alters tables by copying them
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
