"""`coordination`: the one command line entry point (CONTRACT section 6)."""

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from alembic import command as alembic_command

from coordination.config import ConfigError, Settings
from coordination.runtime import Runtime
from coordination.serving import DEFAULT_SERVER, SERVERS
from migrations import alembic_config
from services.errors import DomainError
from services.orgs.commands import CreateOrg
from services.orgs.handlers import create_org
from services.orgs.queries import list_orgs

F = TypeVar("F", bound=Callable[..., Any])

DEMO_ORGS = (
    ("seoul-dsc", "support_center", "Seoul Digital Sex Crime Victim Support Center"),
    ("smpa-cyber", "police", "Seoul Metropolitan Police Agency, Cyber Crime Unit"),
    ("kcsc", "standards_commission", "Korea Communications Standards Commission"),
    ("legal-aid-1", "legal_aid", "Legal Aid Partner 1"),
    ("counsel-1", "counseling", "Counseling Partner 1"),
    ("platform-x", "platform", "Platform X"),
    ("seoul-gender-equality", "auditor", "Seoul Gender Equality Division"),
)


@contextmanager
def open_runtime() -> Iterator[Runtime]:
    """The database and settings for one command, released when it ends."""
    runtime = Runtime.build(settings())
    try:
        yield runtime
    finally:
        runtime.engine.dispose()


def settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


def echo_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def domain_errors(fn: F) -> F:
    """Domain refusals become one clear line and exit code 1, never a traceback."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            details = "; ".join(f"{k}: {', '.join(v)}" for k, v in (exc.errors or {}).items())
            raise click.ClickException(exc.detail + (f" ({details})" if details else "")) from None

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper  # type: ignore[return-value]


@click.group()
def main() -> None:
    """Case coordination between victim support, police and the standards commission."""


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration up to head."""
    upgrade_database(settings())
    click.echo("database at head")


def upgrade_database(config: Settings) -> None:
    alembic_command.upgrade(alembic_config(config.database_url), "head")


@main.group()
def orgs() -> None:
    """Partner organisations."""


@orgs.command("create")
@click.option("--id", "org_id", required=True)
@click.option("--kind", required=True)
@click.option("--name", required=True)
@domain_errors
def orgs_create(org_id: str, kind: str, name: str) -> None:
    """Register an organisation."""
    with open_runtime() as runtime:
        org = create_org(CreateOrg(org_id, kind, name), runtime.uow())
    echo_json({"id": org.id, "kind": org.kind, "name": org.name})


@orgs.command("list")
def orgs_list() -> None:
    """List the organisations."""
    with open_runtime() as runtime, runtime.session_factory() as session:
        echo_json([{"id": o.id, "kind": o.kind, "name": o.name} for o in list_orgs(session)])


@main.command()
@domain_errors
def demo() -> None:
    """Create the example organisations of the contract (again-safe)."""
    with open_runtime() as runtime:
        echo_json(seed_demo(runtime))


def seed_demo(runtime: Runtime) -> dict[str, Any]:
    with runtime.session_factory() as session:
        existing = {org.id for org in list_orgs(session)}
    for org_id, kind, name in DEMO_ORGS:
        if org_id not in existing:
            create_org(CreateOrg(org_id, kind, name), runtime.uow())
    return {"orgs": [{"id": i, "kind": k, "name": n} for i, k, n in DEMO_ORGS]}


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option(
    "--server",
    # The WSGI server; the default is chosen by measurement (README "Benchmarks").
    type=click.Choice(SERVERS),
    default=DEFAULT_SERVER,
    show_default=True,
)
def serve(host: str, port: int, workers: int, threads: int, server: str) -> None:
    """Run the API under a WSGI server (with the embedded broker when no Kafka is configured)."""
    from coordination.serving import run_server

    config = settings()
    if "DATABASE_URL" not in os.environ:
        upgrade_database(config)
    run_server(config, host=host, port=port, workers=workers, threads=threads, server=server)


if __name__ == "__main__":
    main()
