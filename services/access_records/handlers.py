"""Writing access records through the outbox, several in one transaction (see writer.py)."""

from collections.abc import Sequence

from services.access_records.commands import RecordAccess
from services.access_records.events import AccessRecorded
from services.actor import SYSTEM, Actor
from services.outbox.writer import outbox_values
from services.unit_of_work import UnitOfWork

#: Refusals: no token or a bad one, a missing scope, the policy's "not found", the rate limit.
DENIED_STATUSES = frozenset({401, 403, 404, 429})


def record_accesses(cmds: Sequence[RecordAccess], uow: UnitOfWork) -> None:
    """CMDS in one transaction. Each outbox row names its own request's caller and request id
    (not the unit of work's), since one batch gathers the records of many requests."""
    with uow:
        now = uow.clock.now()
        # Plain rows in one INSERT: no ORM object per record (the batch has hundreds).
        rows = [
            outbox_values(access_recorded(cmd), now, _actor(cmd), cmd.request_id) for cmd in cmds
        ]
        uow.write_rows(rows)
        uow.commit()


def access_recorded(cmd: RecordAccess) -> AccessRecorded:
    return AccessRecorded(
        subject=cmd.request_id,
        case_id=cmd.case_id,
        org=cmd.org,
        client_id=cmd.client_id,
        action=cmd.action,
        resource=cmd.resource,
        outcome="denied" if cmd.status in DENIED_STATUSES else "allowed",
        status=cmd.status,
        request_id=cmd.request_id,
        method=cmd.method,
    )


def _actor(cmd: RecordAccess) -> Actor:
    """The row's actor columns: the caller, or the system's for a request without one."""
    if not cmd.org and not cmd.client_id:
        return SYSTEM
    return Actor(org=cmd.org, org_kind="", client_id=cmd.client_id)
