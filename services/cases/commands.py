from dataclasses import dataclass


@dataclass(frozen=True)
class OpenCase:
    harm_types: list[str]
    age_band: str = "unknown"
    origin_referral_id: str | None = None


@dataclass(frozen=True)
class UpdateCase:
    case_id: str
    expected_version: int | None
    harm_types: list[str] | None = None
    age_band: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class CaseFilters:
    status: str | None = None
    harm_type: str | None = None
