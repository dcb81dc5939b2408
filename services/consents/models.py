"""Consent to share a case with one kind of partner. Revocation is a new fact, never an edit."""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.consents.events import ConsentGranted, ConsentRevoked
from services.db import Base
from services.errors import Conflict
from services.messages import Aggregate

PURPOSES = (
    "share_with_police",
    "share_with_standards_commission",
    "share_with_legal_aid",
    "share_with_counseling",
    "share_with_platform",
)
GRANTORS = ("victim", "guardian")

# The org kind each purpose lets a case be shared with.
PURPOSE_ORG_KIND = {
    "share_with_police": "police",
    "share_with_standards_commission": "standards_commission",
    "share_with_legal_aid": "legal_aid",
    "share_with_counseling": "counseling",
    "share_with_platform": "platform",
}
ORG_KIND_PURPOSE = {kind: purpose for purpose, kind in PURPOSE_ORG_KIND.items()}


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class Consent(Base, Aggregate):
    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"))
    purpose: Mapped[str] = mapped_column(String(40))
    granted_by: Mapped[str] = mapped_column(String(16))
    # The law that allows sharing without (or beyond) the person's consent, as a code.
    legal_basis: Mapped[str | None] = mapped_column(String(64), default=None)
    granted_at: Mapped[datetime]
    recorded_by_org: Mapped[str] = mapped_column(String(64), ForeignKey("orgs.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(16), default=None)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__: Any = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(f"purpose IN {_in(PURPOSES)}", name="purpose"),
        CheckConstraint(f"granted_by IN {_in(GRANTORS)}", name="granted_by"),
        CheckConstraint(f"revoked_by IS NULL OR revoked_by IN {_in(GRANTORS)}", name="revoked_by"),
        Index("ix_consents_case_id_purpose", "case_id", "purpose"),
    )

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def grant(
        cls,
        *,
        consent_id: str,
        case_id: str,
        owner_org: str,
        purpose: str,
        granted_by: str,
        legal_basis: str | None,
        now: datetime,
    ) -> "Consent":
        consent = cls(
            id=consent_id,
            case_id=case_id,
            purpose=purpose,
            granted_by=granted_by,
            legal_basis=legal_basis,
            granted_at=now,
            recorded_by_org=owner_org,
        )
        consent.record(
            ConsentGranted(
                subject=consent_id,
                case_id=case_id,
                owner_org=owner_org,
                consent_id=consent_id,
                purpose=purpose,
                granted_by=granted_by,
                legal_basis=legal_basis,
            )
        )
        return consent

    def revoke(
        self, *, owner_org: str, revoked_by: str | None, affected_orgs: list[str], now: datetime
    ) -> None:
        if not self.is_live:
            raise Conflict("the consent is already revoked")
        self.revoked_at = now
        self.revoked_by = revoked_by
        self.record(
            ConsentRevoked(
                subject=self.id,
                case_id=self.case_id,
                owner_org=owner_org,
                consent_id=self.id,
                purpose=self.purpose,
                affected_orgs=tuple(sorted(set(affected_orgs))),
            )
        )
