"""Writing an access record: its own small transaction, through the outbox."""

from services.access_records.commands import RecordAccess
from services.access_records.events import AccessRecorded
from services.unit_of_work import UnitOfWork

#: Refusals: no token or a bad one, a missing scope, the policy's "not found", the rate limit.
DENIED_STATUSES = frozenset({401, 403, 404, 429})


def record_access(cmd: RecordAccess, uow: UnitOfWork) -> None:
    with uow:
        uow.announce(
            AccessRecorded(
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
        )
        uow.commit()
