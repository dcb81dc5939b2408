from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RegisterContent:
    case_id: str
    kind: str
    sha256: str
    involves_minor: bool
    pdq: str | None = None
    pdq_quality: int | None = None
    description: str | None = None


@dataclass(frozen=True)
class RecordSighting:
    content_id: str
    url: str
    platform: str
    seen_at: datetime | None = None
    state: str = "online"
    removed_at: datetime | None = None
