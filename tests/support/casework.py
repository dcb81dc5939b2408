"""Set-up for the content, referral and service tests: a case and consents, made through the
domain (cases and consents have their own HTTP tests), and small HTTP steps used everywhere."""

import json
from typing import Any

from sqlalchemy import select

from coordination.runtime import Runtime
from services.cases import repository as cases
from services.cases.models import Case
from services.consents.models import Consent
from services.ids import new_id
from services.outbox.models import OutboxMessage
from tests.support.agencies import Agency

PDQ = "f" * 64


def sha(n: int) -> str:
    return f"{n:064x}"


def open_case(rt: Runtime, center: Agency, age_band: str = "20s") -> str:
    with rt.uow() as uow:
        now = uow.clock.now()
        case = Case.open(
            case_id=new_id(),
            reference=cases.next_reference(uow.session, now.year),
            owner_org=center.org,
            harm_types=["non_consensual_distribution"],
            age_band=age_band,
            now=now,
        )
        uow.session.add(case)
        uow.commit()
        return case.id


def grant(rt: Runtime, case_id: str, purpose: str, granted_by: str = "victim") -> str:
    with rt.uow() as uow:
        case = uow.session.get_one(Case, case_id)
        consent = Consent.grant(
            consent_id=new_id(),
            case_id=case_id,
            owner_org=case.owner_org,
            purpose=purpose,
            granted_by=granted_by,
            legal_basis=None,
            now=uow.clock.now(),
        )
        uow.session.add(consent)
        uow.commit()
        return consent.id


def revoke(rt: Runtime, consent_id: str) -> None:
    with rt.uow() as uow:
        consent = uow.session.get_one(Consent, consent_id)
        consent.revoke(owner_org="", revoked_by="victim", affected_orgs=[], now=uow.clock.now())
        uow.commit()


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
