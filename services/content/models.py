"""Illegal material, described by its hashes and never stored, and where it was seen."""

import re
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.content.events import ContentRegistered, ContentRemoved, ContentSighted
from services.db import Base
from services.errors import InvalidInput
from services.messages import Aggregate

CONTENT_KINDS = ("image", "video")
CONTENT_STATUSES = ("online", "takedown_requested", "removed", "reappeared")
SIGHTING_STATES = ("online", "removed")

SHA256 = re.compile(r"^[0-9a-f]{64}$")
PDQ = re.compile(r"^[0-9a-fA-F]{64}$")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class ContentItem(Base, Aggregate):
    __tablename__ = "content_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    pdq: Mapped[str | None] = mapped_column(String(64), default=None)  # lowercase hex
    pdq_quality: Mapped[int | None] = mapped_column(Integer, default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    involves_minor: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(24))
    registered_by_org: Mapped[str] = mapped_column(String(64), ForeignKey("orgs.id"))
    registered_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # When a takedown was last asked for, and when the item was last taken down: the statistics'
    # "time from takedown request to removal" is the difference.
    takedown_requested_at: Mapped[datetime | None] = mapped_column(default=None)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__: Any = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(CONTENT_KINDS)}", name="kind"),
        CheckConstraint(f"status IN {_in(CONTENT_STATUSES)}", name="status"),
        CheckConstraint(
            "pdq_quality IS NULL OR (pdq_quality >= 0 AND pdq_quality <= 100)", name="pdq_quality"
        ),
        UniqueConstraint("case_id", "sha256"),
        Index("ix_content_items_sha256", "sha256"),
        Index("ix_content_items_case_id_id", "case_id", "id"),
    )

    @classmethod
    def register(
        cls,
        *,
        item_id: str,
        case_id: str,
        owner_org: str,
        kind: str,
        sha256: str,
        pdq: str | None,
        pdq_quality: int | None,
        description: str | None,
        involves_minor: bool,
        now: datetime,
    ) -> "ContentItem":
        check_hashes(kind, sha256, pdq, pdq_quality)
        item = cls(
            id=item_id,
            case_id=case_id,
            kind=kind,
            sha256=sha256,
            pdq=pdq.lower() if pdq else None,
            pdq_quality=pdq_quality,
            description=description,
            involves_minor=involves_minor,
            status="online",
            registered_by_org=owner_org,
            registered_at=now,
            updated_at=now,
        )
        item.record(
            ContentRegistered(
                subject=item_id,
                case_id=case_id,
                owner_org=owner_org,
                content_id=item_id,
                kind=kind,
                involves_minor=involves_minor,
                status="online",
            )
        )
        return item

    def record_sighting(
        self,
        *,
        sighting_id: str,
        owner_org: str,
        by_org: str,
        url: str,
        platform: str,
        seen_at: datetime,
        state: str,
        removed_at: datetime | None,
        now: datetime,
    ) -> "Sighting":
        """A place the item was seen. Seen online again after removal: it has `reappeared`."""
        if state not in SIGHTING_STATES:
            raise InvalidInput("unknown sighting state", errors={"state": ["online or removed"]})
        if state == "removed" and removed_at is None:
            removed_at = now
        if state == "online" and removed_at is not None:
            raise InvalidInput(
                "an online sighting has no removal time",
                errors={"removed_at": ["only for state removed"]},
            )
        if removed_at is not None and removed_at < seen_at:
            raise InvalidInput(
                "removed before it was seen", errors={"removed_at": ["must not precede seen_at"]}
            )
        sighting = Sighting(
            id=sighting_id,
            content_id=self.id,
            case_id=self.case_id,
            url=url,
            platform=platform,
            seen_at=seen_at,
            state=state,
            removed_at=removed_at,
            recorded_by_org=by_org,
            recorded_at=now,
        )
        if state == "online" and self.status == "removed":
            self.status = "reappeared"
        self.updated_at = now
        self.record(
            ContentSighted(
                subject=self.id,
                case_id=self.case_id,
                owner_org=owner_org,
                content_id=self.id,
                sighting_id=sighting_id,
                state=state,
                status=self.status,
                recorded_by_org=by_org,
            )
        )
        return sighting

    def takedown_requested(self, now: datetime) -> None:
        """A takedown referral naming the item went out."""
        if self.status in ("online", "reappeared"):
            self.status = "takedown_requested"
            self.takedown_requested_at = now
            self.updated_at = now

    def takedown_ended(self, now: datetime) -> None:
        """The last live takedown naming the item ended without removing it: still online."""
        if self.status == "takedown_requested":
            self.status = "online"
            self.updated_at = now

    def removed(self, *, owner_org: str, referral_id: str | None, now: datetime) -> bool:
        """Taken down (a takedown's receiver reported `removed`). False if it already was."""
        if self.status == "removed":
            return False
        self.status = "removed"
        self.removed_at = now
        self.updated_at = now
        requested = self.takedown_requested_at
        self.record(
            ContentRemoved(
                subject=self.id,
                case_id=self.case_id,
                owner_org=owner_org,
                content_id=self.id,
                involves_minor=self.involves_minor,
                referral_id=referral_id,
                takedown_requested_at=requested,
                removed_at=now,
                seconds_to_removal=(
                    int((now - requested).total_seconds()) if requested is not None else None
                ),
            )
        )
        return True


class Sighting(Base):
    """One place (URL) an item was seen, and whether it is still there."""

    __tablename__ = "content_sightings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    content_id: Mapped[str] = mapped_column(String(36), ForeignKey("content_items.id"))
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"))
    url: Mapped[str] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(String(100))
    seen_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(8))
    removed_at: Mapped[datetime | None] = mapped_column(default=None)
    recorded_by_org: Mapped[str] = mapped_column(String(64), ForeignKey("orgs.id"))
    recorded_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(f"state IN {_in(SIGHTING_STATES)}", name="state"),
        Index("ix_content_sightings_content_id_id", "content_id", "id"),
    )

    def mark_removed(self, at: datetime) -> None:
        if self.state == "online":
            self.state = "removed"
            self.removed_at = max(at, self.seen_at)


def check_hashes(kind: str, sha256: str, pdq: str | None, pdq_quality: int | None) -> None:
    errors: dict[str, list[str]] = {}
    if kind not in CONTENT_KINDS:
        errors["kind"] = ["image or video"]
    if not SHA256.match(sha256):
        errors["sha256"] = ["64 lowercase hex characters"]
    if pdq is not None and not PDQ.match(pdq):
        errors["pdq"] = ["64 hex characters"]
    if (pdq is None) != (pdq_quality is None):
        errors["pdq_quality" if pdq is not None else "pdq"] = ["pdq and pdq_quality go together"]
    if pdq_quality is not None and not 0 <= pdq_quality <= 100:
        errors["pdq_quality"] = ["0 to 100"]
    if kind == "image" and pdq is None:
        errors["pdq"] = ["required for an image"]
    if errors:
        raise InvalidInput("the content item is not valid", errors=errors)
