"""Helpers for tests of cases, victims, consents and the access policy.

Referrals and content are written straight through their models here (no HTTP), so these tests
pin the policy whatever state the referral API is in.
"""

import json
import secrets
from typing import Any

from sqlalchemy import select

from coordination.runtime import Runtime
from services.clock import utcnow
from services.content.models import ContentItem
from services.ids import new_id
from services.outbox.models import OutboxMessage
from services.referrals.models import Referral
from tests.support.agencies import Agency


def open_case(center: Agency, age_band: str = "20s", **body: Any) -> dict[str, Any]:
    payload = {"harm_types": ["non_consensual_distribution"], "victim": {"age_band": age_band}}
    payload.update(body)
    response = center.post("/v1/cases", json=payload)
    assert response.status_code == 201, response.get_data(as_text=True)
    data: dict[str, Any] = response.json  # type: ignore[assignment]
    return data


def add_content(rt: Runtime, case_id: str, owner_org: str) -> str:
    with rt.session_factory() as session:
        item = ContentItem.register(
            item_id=new_id(),
            case_id=case_id,
            owner_org=owner_org,
            kind="video",
            sha256=secrets.token_hex(32),
            pdq=None,
            pdq_quality=None,
            description="test item",
            involves_minor=False,
            now=utcnow(),
        )
        item.pull_events()
        session.add(item)
        session.commit()
        return item.id


def add_referral(
    rt: Runtime,
    case_id: str,
    from_org: str,
    to_org: str,
    *,
    referral_type: str = "investigation",
    status: str = "requested",
    share_victim_identity: bool = False,
    content_ids: list[str] | None = None,
    legal_basis: str | None = None,
) -> str:
    """A referral in `status` (set directly: the state machine is workflow B's to test)."""
    now = utcnow()
    with rt.session_factory() as session:
        referral = Referral.create(
            referral_id=new_id(),
            case_id=case_id,
            referral_type=referral_type,
            from_org=from_org,
            to_org=to_org,
            owner_org=from_org,
            content_ids=content_ids or [],
            share_victim_identity=share_victim_identity,
            legal_basis=legal_basis,
            note=None,
            based_on=None,
            victim_age_band=None,
            harm_types=None,
            draft=status == "draft",
            due_hours=None,
            now=now,
        )
        referral.status = status
        referral.pull_events()
        session.add(referral)
        session.commit()
        return referral.id


def set_referral_status(rt: Runtime, referral_id: str, status: str) -> None:
    with rt.session_factory() as session:
        referral = session.get(Referral, referral_id)
        assert referral is not None
        referral.status = status
        session.commit()


def outbox_events(rt: Runtime, subject: str) -> list[tuple[str, dict[str, Any]]]:
    """(short type, data) of every outbox row about `subject`, in write order."""
    with rt.session_factory() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.subject == subject)
            .order_by(OutboxMessage.position)
        ).all()
        return [(row.type.removeprefix("org.coordination."), json.loads(row.data)) for row in rows]
