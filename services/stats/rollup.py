"""The daily rollup of support actions (services.stats.models.SupportActionsDaily): adding
services to it (the stats consumer's only write), and the recount from the facts it must
always equal.

A service is added by the one statement that turns its `rolled_up` flag from false to true and
returns it, in the transaction that adds it to the rollup: whatever names a service (an event,
its replay, a duplicate under another id), it is added exactly once. So the rollup always
equals the recount of the rolled-up services; migration 0011 rolled up every service recorded
before the flag existed, and the stats consumer rolls up each one recorded since: from its
event, or, should the event never reach it, from the services still pending.
"""

from collections import Counter
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, time

from sqlalchemy import String, func, select, update
from sqlalchemy.orm import Session

from services.db import dialect_insert, one_of
from services.stats.models import SupportActionsDaily
from services.support.models import SupportService

DayAndType = tuple[date, str]


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def roll_up(session: Session, service_ids: Collection[str]) -> int:
    """Add to the rollup those of these services it does not hold yet, and flag them; returns
    how many it added. Unknown ids are skipped (a service of another database, say)."""
    if not service_ids:
        return 0
    actions: Counter[DayAndType] = Counter()
    added = 0
    ids = one_of(session, SupportService.id, list(service_ids), String)
    for delivered_at, service_type, count in session.execute(
        update(SupportService)
        .where(ids, ~SupportService.rolled_up)
        .values(rolled_up=True)
        .returning(SupportService.delivered_at, SupportService.type, SupportService.count)
        .execution_options(synchronize_session=False)
    ):
        actions[(utc_day(delivered_at), service_type)] += int(count)
        added += 1
    _add_support_actions(session, actions)
    return added


def roll_up_pending(session: Session, limit: int) -> int:
    """Roll up at most LIMIT of the services the rollup does not hold yet, whatever became of
    their events (dead-lettered, or lost with a broker's data); returns how many it added."""
    pending = session.scalars(
        select(SupportService.id)
        .where(~SupportService.rolled_up)
        .order_by(SupportService.id)
        .limit(limit)
    ).all()
    return roll_up(session, pending)


def _add_support_actions(session: Session, actions: Mapping[DayAndType, int]) -> None:
    """Add ACTIONS to the rollup, in key order (two writers never wait on each other's rows
    in opposite orders)."""
    for (day, service_type), count in sorted(actions.items()):
        stmt = dialect_insert(session, SupportActionsDaily).values(
            day=day, type=service_type, actions=count
        )
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


def recount(
    session: Session, first: date, end: date, *, rolled_up_only: bool = False
) -> dict[DayAndType, int]:
    """The same figures counted from the recorded services. `rolled_up` always equals the
    recount of the rolled-up services; once the stats consumer has caught up, of them all."""
    stmt = select(SupportService.delivered_at, SupportService.type, SupportService.count).where(
        SupportService.delivered_at >= day_start(first),
        SupportService.delivered_at < day_start(end),
    )
    if rolled_up_only:
        stmt = stmt.where(SupportService.rolled_up)
    totals: dict[DayAndType, int] = {}
    for delivered_at, service_type, count in session.execute(stmt):
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
