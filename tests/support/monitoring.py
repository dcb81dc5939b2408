"""Helpers for the re-upload and takedown-clock tests (issue 7): a case with content, taken down
by the standards commission over HTTP, and the outbox rows it left behind."""

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from coordination.runtime import Runtime
from services.actor import Actor
from services.outbox.models import OutboxMessage
from tests.support.agencies import Agency

LEGAL_BASIS = "telecom_business_act_44_7"  # a takedown needs a consent or a legal basis


def random_sha256() -> str:
    return secrets.token_hex(32)


def random_pdq() -> str:
    return secrets.token_hex(32)


def flip_bits(pdq_hex: str, count: int, seed: int = 7) -> str:
    """The same PDQ with exactly `count` bits flipped: at Hamming distance `count`."""
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(pdq_hex), dtype=np.uint8))
    rng = np.random.default_rng(seed)
    bits[rng.choice(256, size=count, replace=False)] ^= 1
    return np.packbits(bits).tobytes().hex()


def actor_of(agency: Agency) -> Actor:
    return Actor(
        org=agency.org,
        org_kind=agency.kind,
        client_id=agency.client_id,
        scopes=frozenset(agency.scope.split()),
    )


def open_case(rt: Runtime, center: Agency) -> str:
    """A new case of the center: over HTTP when the cases API is there, else by its use case."""
    response = center.post(
        "/v1/cases",
        json={"harm_types": ["non_consensual_distribution"], "victim": {"age_band": "20s"}},
    )
    if response.status_code == 201:
        return str(response.json["id"])  # type: ignore[index]
    assert response.status_code in (404, 405), response.get_data(as_text=True)
    from services.cases.commands import OpenCase
    from services.cases.handlers import open_case as open_case_handler

    actor = actor_of(center)
    case = open_case_handler(
        OpenCase(harm_types=["non_consensual_distribution"], age_band="20s"), rt.uow(actor), actor
    )
    return case.id


def register(
    center: Agency,
    case_id: str,
    *,
    sha256: str | None = None,
    pdq: str | None = None,
    quality: int | None = 90,
    kind: str = "image",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": kind,
        "sha256": sha256 or random_sha256(),
        "involves_minor": False,
        "description": "photo",
    }
    if kind == "image" or pdq is not None:
        body["pdq"] = pdq or random_pdq()
        body["pdq_quality"] = quality
    response = center.post(f"/v1/cases/{case_id}/content", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.json)  # type: ignore[arg-type]


def send_takedown(
    center: Agency, commission: Agency, case_id: str, content_ids: list[str]
) -> dict[str, Any]:
    response = center.post(
        "/v1/referrals",
        json={
            "case_id": case_id,
            "type": "takedown",
            "to_org": commission.org,
            "content_ids": content_ids,
            "legal_basis": LEGAL_BASIS,
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.json)  # type: ignore[arg-type]


def update(agency: Agency, referral_id: str, **body: Any) -> dict[str, Any]:
    """POST an update with the referral's current ETag; the referral after it."""
    current = agency.get(f"/v1/referrals/{referral_id}")
    assert current.status_code == 200, current.get_data(as_text=True)
    response = agency.post(
        f"/v1/referrals/{referral_id}/updates",
        json=body,
        headers={"If-Match": current.headers["ETag"]},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.json["referral"])  # type: ignore[index]


def complete_removal(commission: Agency, referral_id: str) -> dict[str, Any]:
    """The commission accepts, works, orders deletion, reports `removed` and completes."""
    update(commission, referral_id, status="accepted")
    update(commission, referral_id, status="in_progress", business_status="deletion_ordered")
    update(commission, referral_id, business_status="removed")
    return update(commission, referral_id, status="completed")


@dataclass(frozen=True)
class Event:
    position: int
    type: str
    subject: str
    key: str
    data: dict[str, Any]


def events(rt: Runtime, *, subject: str | None = None, type_: str | None = None) -> list[Event]:
    """Outbox rows (short event type, without the `org.coordination.` prefix), in write order."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.position)
    if subject is not None:
        stmt = stmt.where(OutboxMessage.subject == subject)
    if type_ is not None:
        stmt = stmt.where(OutboxMessage.type == "org.coordination." + type_)
    with rt.session_factory() as session:
        return [
            Event(
                row.position,
                row.type.removeprefix("org.coordination."),
                row.subject,
                row.key,
                json.loads(row.data),
            )
            for row in session.scalars(stmt)
        ]


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def later(hours: float = 0, days: float = 0) -> FixedClock:
    return FixedClock(datetime.now(UTC) + timedelta(hours=hours, days=days))


_CONTRACT: Any = None


def check_contract(response: Any, path: str, method: str = "post") -> None:
    """The response's status is declared in openapi.yaml for this operation, and its JSON body
    validates against the declared schema (OpenAPI 3.1 schemas are JSON Schema 2020-12)."""
    global _CONTRACT
    import yaml
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    if _CONTRACT is None:
        document = yaml.safe_load((Path(__file__).parents[2] / "openapi.yaml").read_text())
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        _CONTRACT = (document, Registry().with_resource("urn:openapi", resource))
    document, registry = _CONTRACT
    responses = document["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {path} does not declare {status}"
    media = response.mimetype
    escaped = path.replace("~", "~0").replace("/", "~1")
    declared = responses[status]
    pointer = f"urn:openapi#/paths/{escaped}/{method}/responses/{status}"
    if "$ref" in declared:
        name = declared["$ref"].rsplit("/", 1)[-1]
        declared = document["components"]["responses"][name]
        pointer = f"urn:openapi#/components/responses/{name}"
    assert media in declared["content"], f"{status} is not declared as {media}"
    schema = {"$ref": f"{pointer}/content/{media.replace('/', '~1')}/schema"}
    Draft202012Validator(schema, registry=registry).validate(response.json)
