"""The access record's own `data()` (no deep copy) gives what the generic one does."""

from services.access_records.commands import RecordAccess
from services.access_records.handlers import access_recorded
from services.messages import DomainEvent


def test_access_recorded_data_is_the_generic_data() -> None:
    for status, case_id in ((201, "case-1"), (404, ""), (401, "")):
        event = access_recorded(
            RecordAccess(
                org="kcsc",
                client_id="client-1",
                action="referral.update",
                resource="/v1/referrals/r-1/updates",
                status=status,
                request_id="req-1",
                method="POST",
                case_id=case_id,
            )
        )
        assert event.data() == DomainEvent.data(event)
        assert list(event.data()) == list(DomainEvent.data(event))
