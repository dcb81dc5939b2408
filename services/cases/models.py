"""A victim's case, owned by one support center. Everything else hangs off it."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.cases.events import CaseClosed, CaseOpened, CaseUpdated
from services.db import Base
from services.errors import Conflict, InvalidInput
from services.messages import Aggregate

CASE_STATUSES = ("open", "active", "monitoring", "closed")
HARM_TYPES = (
    "illegal_filming",
    "non_consensual_distribution",
    "sextortion",
    "synthetic_media",
    "grooming",
    "stalking",
    "other",
)
AGE_BANDS = ("under_14", "14_17", "18_19", "20s", "30s", "40s", "50_plus", "unknown")
MINOR_AGE_BANDS = frozenset({"under_14", "14_17"})
IDENTITY_STATES = ("none", "recorded", "erased")

REFERENCE_PREFIX = "DSC"

# The moves an owner may make with PATCH; `open` is where every case starts and is never set.
CLIENT_STATUS_MOVES: dict[str, frozenset[str]] = {
    "open": frozenset({"active", "monitoring", "closed"}),
    "active": frozenset({"monitoring", "closed"}),
    "monitoring": frozenset({"active", "closed"}),
    "closed": frozenset({"active"}),
}


def is_minor(age_band: str) -> bool:
    return age_band in MINOR_AGE_BANDS


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class Case(Base, Aggregate):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    owner_org: Mapped[str] = mapped_column(String(64), ForeignKey("orgs.id"))
    status: Mapped[str] = mapped_column(String(16))
    harm_types: Mapped[list[str]] = mapped_column(JSON)
    age_band: Mapped[str] = mapped_column(String(16))
    # Whether a victim identity is stored: none yet, recorded, or erased for good.
    identity_state: Mapped[str] = mapped_column(String(16), default="none")
    # The police `victim_support` referral this case was opened from, if any.
    origin_referral_id: Mapped[str | None] = mapped_column(String(36), default=None)
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__: Any = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(f"status IN {_in(CASE_STATUSES)}", name="status"),
        CheckConstraint(f"age_band IN {_in(AGE_BANDS)}", name="age_band"),
        CheckConstraint(f"identity_state IN {_in(IDENTITY_STATES)}", name="identity_state"),
        Index("ix_cases_owner_org_id", "owner_org", "id"),
    )

    @property
    def is_minor(self) -> bool:
        return is_minor(self.age_band)

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"

    @classmethod
    def open(
        cls,
        *,
        case_id: str,
        reference: str,
        owner_org: str,
        harm_types: list[str],
        age_band: str,
        now: datetime,
        origin_referral_id: str | None = None,
    ) -> "Case":
        check_harm_types(harm_types)
        check_age_band(age_band)
        case = cls(
            id=case_id,
            reference=reference,
            owner_org=owner_org,
            status="open",
            harm_types=sorted(set(harm_types)),
            age_band=age_band,
            identity_state="none",
            origin_referral_id=origin_referral_id,
            opened_at=now,
            closed_at=None,
            updated_at=now,
        )
        case.record(
            CaseOpened(
                subject=case_id,
                case_id=case_id,
                owner_org=owner_org,
                status="open",
                age_band=age_band,
                is_minor=is_minor(age_band),
                harm_types=tuple(case.harm_types),
                origin_referral_id=origin_referral_id,
            )
        )
        return case

    def change(
        self,
        *,
        now: datetime,
        harm_types: list[str] | None = None,
        age_band: str | None = None,
        status: str | None = None,
    ) -> None:
        """The owner's edit. Records `case.updated`, and `case.closed` when it closes."""
        changed: list[str] = []
        if harm_types is not None:
            check_harm_types(harm_types)
            if sorted(set(harm_types)) != self.harm_types:
                self.harm_types = sorted(set(harm_types))
                changed.append("harm_types")
        if age_band is not None:
            check_age_band(age_band)
            if age_band != self.age_band:
                self.age_band = age_band
                changed.append("victim.age_band")
        previous_status = self.status
        if status is not None and status != self.status:
            if status not in CLIENT_STATUS_MOVES.get(self.status, frozenset()):
                raise Conflict(f"a case cannot move from {self.status} to {status}")
            self._set_status(status, now)
            changed.append("status")
        if not changed:
            return
        self.updated_at = now
        self.record(
            CaseUpdated(
                subject=self.id,
                case_id=self.id,
                owner_org=self.owner_org,
                changed=tuple(changed),
                status=self.status,
                previous_status=previous_status,
                age_band=self.age_band,
                is_minor=self.is_minor,
            )
        )
        if "status" in changed and self.status == "closed":
            self.record(CaseClosed(subject=self.id, case_id=self.id, owner_org=self.owner_org))

    def mark_active(self, now: datetime) -> None:
        """The first referral went out: an `open` case is being worked on together."""
        if self.status == "open":
            previous = self.status
            self._set_status("active", now)
            self.updated_at = now
            self.record(
                CaseUpdated(
                    subject=self.id,
                    case_id=self.id,
                    owner_org=self.owner_org,
                    changed=("status",),
                    status=self.status,
                    previous_status=previous,
                    age_band=self.age_band,
                    is_minor=self.is_minor,
                )
            )

    def start_monitoring(self, now: datetime) -> None:
        """Every item is removed: watch for re-uploads (used by the monitoring feature)."""
        if self.status in ("open", "active"):
            self.change(now=now, status="monitoring")

    def ensure_open_for_work(self) -> None:
        if self.is_closed:
            raise Conflict("the case is closed; reopen it first")

    def identity_recorded(self, now: datetime) -> None:
        self.identity_state = "recorded"
        self.updated_at = now

    def identity_erased(self, now: datetime) -> None:
        self.identity_state = "erased"
        self.updated_at = now

    def _set_status(self, status: str, now: datetime) -> None:
        self.status = status
        self.closed_at = now if status == "closed" else None


class CaseReferenceSequence(Base):
    """The last reference number handed out per year: `DSC-<year>-<number>`."""

    __tablename__ = "case_reference_sequences"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer)


def check_harm_types(harm_types: list[str]) -> None:
    if not harm_types:
        raise InvalidInput("a case needs at least one harm type", errors={"harm_types": ["empty"]})
    unknown = sorted(set(harm_types) - set(HARM_TYPES))
    if unknown:
        raise InvalidInput(
            "unknown harm type",
            errors={"harm_types": [f"must be among {', '.join(HARM_TYPES)}"]},
        )


def check_age_band(age_band: str) -> None:
    if age_band not in AGE_BANDS:
        raise InvalidInput(
            "unknown age band",
            errors={"victim.age_band": [f"must be one of {', '.join(AGE_BANDS)}"]},
        )
