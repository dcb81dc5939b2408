"""Migrations are the only way the schema is made: they go up, down and up again cleanly."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import inspect

from migrations import alembic_config
from services.db import import_all_models, make_engine
from tests.support.scratch_database import scratch_database


@pytest.fixture
def scratch_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    with scratch_database(database_url, tmp_path) as url:
        yield url


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


# Tables as migration 0009 left them (not the models: those are at head), for what a test
# writes before migrating up.
ORGS = sa.table(
    "orgs",
    sa.column("id"),
    sa.column("kind"),
    sa.column("name"),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
CASES = sa.table(
    "cases",
    *map(sa.column, ("id", "reference", "owner_org", "status", "age_band", "identity_state")),
    sa.column("harm_types", sa.JSON()),
    sa.column("version"),
    sa.column("opened_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
SERVICES = sa.table(
    "support_services",
    *map(sa.column, ("id", "case_id", "type", "provider_org", "count", "recorded_by_org")),
    sa.column("delivered_at", sa.DateTime(timezone=True)),
    sa.column("recorded_at", sa.DateTime(timezone=True)),
    sa.column("rolled_up", sa.Boolean()),
)
ROLLUP = sa.table(
    "stats_support_actions_daily",
    sa.column("day", sa.Date()),
    sa.column("type"),
    sa.column("actions", sa.BigInteger()),
)
AT = datetime(2026, 3, 1, tzinfo=UTC)
# (id, hours after AT, type, count): two UTC days, the second starting at 09:00 in Seoul.
BEFORE = [
    ("s1", 0, "consultation", 2),
    ("s2", 23, "consultation", 3),
    ("s3", 23, "legal_support", 1),
    ("s4", 24, "consultation", 4),
]


def record_services(engine: sa.Engine, services: list[tuple[str, int, str, int]]) -> None:
    with engine.begin() as db:
        for service_id, hours, service_type, count in services:
            at = AT + timedelta(hours=hours)
            db.execute(
                sa.insert(SERVICES).values(
                    id=service_id,
                    case_id="c1",
                    type=service_type,
                    provider_org="o1",
                    count=count,
                    recorded_by_org="o1",
                    delivered_at=at,
                    recorded_at=at,
                )
            )


def rollup_and_flags(engine: sa.Engine) -> tuple[dict[tuple[date, str], int], dict[str, bool]]:
    with engine.connect() as db:
        rollup = {(day, kind): int(n) for day, kind, n in db.execute(sa.select(ROLLUP))}
        flags = {
            service_id: bool(flag)
            for service_id, flag in db.execute(sa.select(SERVICES.c.id, SERVICES.c.rolled_up))
        }
    return rollup, flags


def test_0011_rolls_up_every_service_recorded_before_it_exactly_once(scratch_url: str) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, "0009")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as db:
            db.execute(
                sa.insert(ORGS).values(id="o1", kind="support_center", name="o", created_at=AT)
            )
            db.execute(
                sa.insert(CASES).values(
                    id="c1",
                    reference="R-1",
                    owner_org="o1",
                    status="open",
                    age_band="20s",
                    identity_state="none",
                    harm_types=[],
                    version=1,
                    opened_at=AT,
                    updated_at=AT,
                )
            )
        record_services(engine, BEFORE[:3])
        command.upgrade(config, "0010")
        record_services(engine, BEFORE[3:])
        # A 0010 stats consumer had already added s1 (an unflagged service then).
        with engine.begin() as db:
            db.execute(
                sa.insert(ROLLUP).values(day=date(2026, 3, 1), type="consultation", actions=2)
            )

        command.upgrade(config, "head")

        # Replaced, not added to: s1 counts once.
        expected = {
            (date(2026, 3, 1), "consultation"): 5,
            (date(2026, 3, 1), "legal_support"): 1,
            (date(2026, 3, 2), "consultation"): 4,
        }
        assert rollup_and_flags(engine) == (expected, dict.fromkeys(["s1", "s2", "s3", "s4"], True))
        # A service recorded afterwards waits for the stats consumer (the column's default).
        record_services(engine, [("s5", 30, "consultation", 9)])
        assert rollup_and_flags(engine) == (
            expected,
            {**dict.fromkeys(["s1", "s2", "s3", "s4"], True), "s5": False},
        )

        command.downgrade(config, "0010")
        columns = {c["name"] for c in inspect(engine).get_columns("support_services")}
        assert "rolled_up" not in columns
        # SQLite drops the column by copying the table: its constraints came along.
        checks = {c["name"] for c in inspect(engine).get_check_constraints("support_services")}
        assert {"ck_support_services_type", "ck_support_services_count"} <= checks
    finally:
        engine.dispose()
