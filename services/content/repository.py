from sqlalchemy import select
from sqlalchemy.orm import Session

from services.content.models import ContentItem, Sighting


def get(session: Session, content_id: str, *, for_update: bool = False) -> ContentItem | None:
    stmt = select(ContentItem).where(ContentItem.id == content_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def get_many(session: Session, case_id: str, content_ids: list[str]) -> list[ContentItem]:
    """The items of one case among `content_ids`, in id order (unknown or foreign ids left out)."""
    if not content_ids:
        return []
    return list(
        session.scalars(
            select(ContentItem)
            .where(ContentItem.case_id == case_id, ContentItem.id.in_(content_ids))
            .order_by(ContentItem.id)
        )
    )


def find_by_sha256(session: Session, case_id: str, sha256: str) -> ContentItem | None:
    return session.scalars(
        select(ContentItem).where(ContentItem.case_id == case_id, ContentItem.sha256 == sha256)
    ).one_or_none()


def online_sightings(session: Session, content_id: str) -> list[Sighting]:
    return list(
        session.scalars(
            select(Sighting).where(Sighting.content_id == content_id, Sighting.state == "online")
        )
    )


def add(session: Session, item: ContentItem | Sighting) -> None:
    session.add(item)
