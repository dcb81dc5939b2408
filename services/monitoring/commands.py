from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ReportHit:
    """A monitoring hit: hashes of something seen online, and where (issue 7)."""

    url: str
    platform: str
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None


@dataclass(frozen=True)
class RecordCheck:
    """A center re-checked a removed item and did not find it online."""

    content_id: str
    checked_at: datetime | None = None


@dataclass(frozen=True)
class Sweep:
    """One pass of the sweeper: overdue referrals and cleared cases, at most `limit` each."""

    limit: int = 500
