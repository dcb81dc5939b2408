from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordIdentity:
    case_id: str
    # name, phone, email and guardian {name, relationship, phone, email}: kept only encrypted.
    identity: dict[str, Any] = field(repr=False)
    expected_version: int | None = None


@dataclass(frozen=True)
class EraseIdentity:
    case_id: str
    expected_version: int | None = None
