from dataclasses import dataclass


@dataclass(frozen=True)
class GrantConsent:
    case_id: str
    purpose: str
    granted_by: str
    legal_basis: str | None = None


@dataclass(frozen=True)
class RevokeConsent:
    consent_id: str
    expected_version: int | None = None
    revoked_by: str | None = None
