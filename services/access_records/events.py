"""Access records: one per `/v1` request, refusals included, for the audit trail.

Ids, codes and a path template filled with ids only: never a query string, a body or a header.
"""

from dataclasses import dataclass
from typing import ClassVar

from services.messages import TOPIC_AUDIT, DomainEvent

OUTCOMES = ("allowed", "denied")


@dataclass(frozen=True, kw_only=True)
class AccessRecorded(DomainEvent):
    """Subject: the request id. `case_id` is the case the path names, or empty."""

    type: ClassVar[str] = "access.recorded"
    topic: ClassVar[str] = TOPIC_AUDIT
    org: str
    client_id: str
    action: str
    resource: str
    outcome: str
    status: int
    request_id: str
    method: str

    @property
    def key(self) -> str:
        return self.case_id or self.org or "anonymous"
