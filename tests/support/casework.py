"""Steps of the content, referral and service tests, over HTTP like a partner's system: a case
and its consents, content, referrals and their moves; and the outbox rows they wrote."""

import json
from typing import Any

from sqlalchemy import select

from coordination.runtime import Runtime
from services.outbox.models import OutboxMessage
from tests.support.agencies import Agency

PDQ = "f" * 64


def sha(n: int) -> str:
    return f"{n:064x}"


def open_case(center: Agency, age_band: str = "20s") -> str:
    response = center.post(
        "/v1/cases",
        json={"harm_types": ["non_consensual_distribution"], "victim": {"age_band": age_band}},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return str((response.json or {})["id"])


def grant(center: Agency, case_id: str, purpose: str, granted_by: str = "victim") -> str:
    response = center.post(
        f"/v1/cases/{case_id}/consents", json={"purpose": purpose, "granted_by": granted_by}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return str((response.json or {})["id"])


def revoke(center: Agency, consent_id: str) -> None:
    response = center.post(f"/v1/consents/{consent_id}/revoke", json={}, headers={"If-Match": "*"})
    assert response.status_code == 200, response.get_data(as_text=True)


def register(center: Agency, case_id: str, n: int, **extra: Any) -> dict[str, Any]:
    body = {"kind": "image", "sha256": sha(n), "pdq": PDQ, "pdq_quality": 90}
    body.setdefault("involves_minor", False)
    body.update(extra)
    response = center.post(f"/v1/cases/{case_id}/content", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.json or {})


def refer(sender: Agency, **body: Any) -> dict[str, Any]:
    response = sender.post("/v1/referrals", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.json or {})


def update(agency: Agency, referral: dict[str, Any], **body: Any) -> Any:
    """POST an update with the referral's current ETag (read fresh by the poster)."""
    current = agency.get(f"/v1/referrals/{referral['id']}")
    assert current.status_code == 200, current.get_data(as_text=True)
    return agency.post(
        f"/v1/referrals/{referral['id']}/updates",
        json=body,
        headers={"If-Match": current.headers["ETag"]},
    )


def move(agency: Agency, referral: dict[str, Any], status: str, **body: Any) -> dict[str, Any]:
    response = update(agency, referral, status=status, **body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict((response.json or {})["referral"])


def events(rt: Runtime, subject: str, type_suffix: str | None = None) -> list[dict[str, Any]]:
    """The data of the outbox events about `subject`, in write order."""
    with rt.session_factory() as session:
        stmt = select(OutboxMessage).where(OutboxMessage.subject == subject)
        if type_suffix is not None:
            stmt = stmt.where(OutboxMessage.type == "org.coordination." + type_suffix)
        rows = session.scalars(stmt.order_by(OutboxMessage.position)).all()
        return [{"type": row.type, **json.loads(row.data)} for row in rows]
