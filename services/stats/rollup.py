"""The daily rollup of support actions (services.stats.models.SupportActionsDaily): adding to
it (the stats consumer's only write), and the recount from the facts it must always equal."""

from collections.abc import Mapping
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.stats.models import SupportActionsDaily
from services.support.models import SupportService

DayAndType = tuple[date, str]


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def add_support_actions(session: Session, actions: Mapping[DayAndType, int]) -> None:
    """Add ACTIONS to the rollup, in key order (two writers never wait on each other's rows
    in opposite orders)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for (day, service_type), count in sorted(actions.items()):
        stmt = insert(SupportActionsDaily).values(day=day, type=service_type, actions=count)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[SupportActionsDaily.day, SupportActionsDaily.type],
                set_={"actions": SupportActionsDaily.actions + stmt.excluded.actions},
            )
        )


def rolled_up(session: Session, first: date, end: date) -> dict[DayAndType, int]:
    """The rollup's rows for the days [first, end)."""
    rows = session.execute(
        select(SupportActionsDaily.day, SupportActionsDaily.type, SupportActionsDaily.actions)
        .where(SupportActionsDaily.day >= first, SupportActionsDaily.day < end)
        .where(SupportActionsDaily.actions != 0)
    )
    return {(day, service_type): int(actions) for day, service_type, actions in rows}


def recount(session: Session, first: date, end: date) -> dict[DayAndType, int]:
    """The same figures counted from the recorded services: what `rolled_up` must equal."""
    totals: dict[DayAndType, int] = {}
    for delivered_at, service_type, count in session.execute(
        select(SupportService.delivered_at, SupportService.type, SupportService.count).where(
            SupportService.delivered_at >= day_start(first),
            SupportService.delivered_at < day_start(end),
        )
    ):
        key = (utc_day(delivered_at), service_type)
        totals[key] = totals.get(key, 0) + int(count)
    return totals


def support_actions_by_type(session: Session, first: date, end: date) -> dict[str, int]:
    """The rollup's support actions of the whole days [first, end), by type."""
    return {
        service_type: int(total)
        for service_type, total in session.execute(
            select(SupportActionsDaily.type, func.sum(SupportActionsDaily.actions))
            .where(SupportActionsDaily.day >= first, SupportActionsDaily.day < end)
            .group_by(SupportActionsDaily.type)
        )
    }
