"""Support actually delivered to a victim: what feeds the statistics of services."""

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base
from services.messages import Aggregate
from services.support.events import ServiceRecorded

SERVICE_TYPES = (
    "deletion_support",
    "consultation",
    "legal_support",
    "psychological_therapy",
    "investigation_support",
    "medical_support",
)


class SupportService(Base, Aggregate):
    __tablename__ = "support_services"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"))
    type: Mapped[str] = mapped_column(String(32))
    provider_org: Mapped[str] = mapped_column(String(64), ForeignKey("orgs.id"))
    delivered_at: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer)
    # The referral under which the provider delivered it, if any.
    referral_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("referrals.id"), default=None
    )
    recorded_by_org: Mapped[str] = mapped_column(String(64), ForeignKey("orgs.id"))
    recorded_at: Mapped[datetime]
    # Whether the statistics' daily rollup holds this service yet: turned true only by the
    # statement that adds it there (services.stats.rollup), so it is added exactly once.
    rolled_up: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        CheckConstraint(
            "type IN (" + ", ".join(f"'{t}'" for t in SERVICE_TYPES) + ")", name="type"
        ),
        CheckConstraint("count >= 1", name="count"),
        Index("ix_support_services_case_id_id", "case_id", "id"),
        Index("ix_support_services_delivered_at", "delivered_at"),
        # The services the rollup does not hold yet: a handful while the stats consumer keeps
        # up, found without reading the others (services.stats.rollup.roll_up_pending).
        Index(
            "ix_support_services_not_rolled_up",
            "id",
            postgresql_where=text("NOT rolled_up"),
            sqlite_where=text("NOT rolled_up"),
        ),
    )

    @classmethod
    def deliver(
        cls,
        *,
        service_id: str,
        case_id: str,
        owner_org: str,
        service_type: str,
        provider_org: str,
        delivered_at: datetime,
        count: int,
        referral_id: str | None,
        by_org: str,
        now: datetime,
    ) -> "SupportService":
        service = cls(
            id=service_id,
            case_id=case_id,
            type=service_type,
            provider_org=provider_org,
            delivered_at=delivered_at,
            count=count,
            referral_id=referral_id,
            recorded_by_org=by_org,
            recorded_at=now,
        )
        service.record(
            ServiceRecorded(
                subject=service_id,
                case_id=case_id,
                owner_org=owner_org,
                service_id=service_id,
                service_type=service_type,
                provider_org=provider_org,
                count=count,
                referral_id=referral_id,
                delivered_at=delivered_at,
            )
        )
        return service
