"""`coordination`: the one command line entry point (CONTRACT section 6)."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from alembic import command as alembic_command

from coordination.cli_support import domain_errors, echo_json, open_runtime, settings
from coordination.config import Settings
from coordination.runtime import Runtime
from coordination.serving import DEFAULT_SERVER, SERVERS
from migrations import alembic_config
from services.orgs.commands import CreateOrg
from services.orgs.handlers import create_org
from services.orgs.queries import list_orgs

DEMO_ORGS = (
    ("seoul-dsc", "support_center", "Seoul Digital Sex Crime Victim Support Center"),
    ("smpa-cyber", "police", "Seoul Metropolitan Police Agency, Cyber Crime Unit"),
    ("kcsc", "standards_commission", "Korea Communications Standards Commission"),
    ("legal-aid-1", "legal_aid", "Legal Aid Partner 1"),
    ("counsel-1", "counseling", "Counseling Partner 1"),
    ("platform-x", "platform", "Platform X"),
    ("seoul-gender-equality", "auditor", "Seoul Gender Equality Division"),
)


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
    """Create the example organisations of the contract with one client each (again-safe)."""
    with open_runtime() as runtime:
        echo_json(seed_demo(runtime))


def seed_demo(runtime: Runtime) -> dict[str, Any]:
    with runtime.session_factory() as session:
        existing = {org.id for org in list_orgs(session)}
    for org_id, kind, name in DEMO_ORGS:
        if org_id not in existing:
            create_org(CreateOrg(org_id, kind, name), runtime.uow())
    from coordination.auth.cli import seed_demo_clients

    return {
        "orgs": [{"id": i, "kind": k, "name": n} for i, k, n in DEMO_ORGS],
        # One client per org; each secret is printed once, when the client is created.
        "clients": seed_demo_clients(runtime, [(i, k) for i, k, _ in DEMO_ORGS]),
    }


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
@click.option(
    "--no-background",
    is_flag=True,
    help="API only: no relay, consumers, sweeper or checkpointer (run those as their own"
    " commands, e.g. on worker nodes).",
)
def serve(
    host: str, port: int, workers: int, threads: int, server: str, no_background: bool
) -> None:
    """Run the API under a WSGI server (with the embedded broker when no Kafka is configured)."""
    from coordination.serving import run_server

    config = settings()
    if "DATABASE_URL" not in os.environ:
        upgrade_database(config)
    run_server(
        config,
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        server=server,
        background=[] if no_background else None,
    )


@main.command("hash")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def hash_files(files: tuple[str, ...]) -> None:
    """Hash media locally: SHA-256, and PDQ with its quality for images (issue 7).

    Prints one JSON object per file (a JSON list for several), ready to send as a content item
    or a monitoring hit. The media never leave this machine.
    """
    from services.content.hashing import HashingError, HashingUnavailable, hash_file

    results = []
    for name in files:
        try:
            results.append({"file": name, **hash_file(name)})
        except (HashingError, HashingUnavailable) as exc:
            raise click.ClickException(str(exc)) from None
    echo_json(results[0] if len(results) == 1 else results)


@main.command()
@click.option("--follow", is_flag=True, help="Keep sweeping every 30 s until interrupted.")
def sweep(follow: bool) -> None:
    """Announce overdue referrals once each; move cleared cases to monitoring (issue 7)."""
    import threading

    from coordination.sweeper import follow as follow_sweeps
    from coordination.sweeper import sweep_once

    with open_runtime() as runtime:
        if not follow:
            echo_json(sweep_once(runtime).as_dict())
            return
        stop = threading.Event()
        try:
            follow_sweeps(runtime, stop)
        except KeyboardInterrupt:
            stop.set()


@main.command()
@click.option(
    "--from",
    "start",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="First day of the period (UTC).",
)
@click.option(
    "--to",
    "end",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="Last day of the period, included (UTC).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write.",
)
@domain_errors
def report(start: datetime, end: datetime, out: Path) -> None:
    """The period's published statistics with charts, as one self-contained HTML page."""
    from coordination.stats_report import write_report

    start, end = start.replace(tzinfo=UTC), end.replace(tzinfo=UTC) + timedelta(days=1)
    with open_runtime() as runtime:
        published = write_report(runtime, start, end, out)
    click.echo(f"wrote {out} ({published['period']['from']} to {published['period']['to']})")


def _register_audit() -> None:
    from coordination.audit_cli import audit

    main.add_command(audit)


_register_audit()  # the audit trail's commands (issue 6), in coordination/audit_cli.py


def _register_oauth() -> None:
    from coordination.auth.cli import register

    register(main)


_register_oauth()  # `clients ...` and `keys rotate` (issue 3), in coordination/auth/cli.py


def _register_stream() -> None:
    from coordination.stream_cli import register

    register(main)


_register_stream()  # `relay` and `consume` (issue 5), in coordination/stream_cli.py


def _register_victims() -> None:
    from coordination.victims_cli import register

    register(main)


_register_victims()  # `data-key rotate` (issue 4), in coordination/victims_cli.py


if __name__ == "__main__":
    main()
