"""CONTRACT section 3 conventions, shown on the cases API: Idempotency-Key, If-Match, cursors."""

from datetime import timedelta

from sqlalchemy import select

from coordination.runtime import Runtime
from services.clock import utcnow
from services.idempotency.handlers import request_hash
from services.idempotency.models import IN_FLIGHT, IdempotencyRecord
from tests.support.agencies import Agencies
from tests.support.cases import open_case, outbox_events

BODY = {"harm_types": ["sextortion"], "victim": {"age_band": "30s"}}


def case_count(center: object) -> int:
    return len(center.get("/v1/cases?limit=200").json["items"])  # type: ignore[attr-defined]


def test_same_idempotency_key_and_body_replays_the_first_answer(
    agencies: Agencies, rt: Runtime
) -> None:
    center = agencies.new("support_center")
    headers = {"Idempotency-Key": "open-1"}
    first = center.post("/v1/cases", json=BODY, headers=headers)
    # The same JSON written differently is the same request.
    again = center.post(
        "/v1/cases",
        data='{"victim": {"age_band": "30s"},   "harm_types": ["sextortion"]}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert case_count(center) == 1
    assert [n for n, _ in outbox_events(rt, first.json["id"])] == ["case.opened"]  # type: ignore[index]


def test_same_idempotency_key_with_another_body_answers_422(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    headers = {"Idempotency-Key": "open-2"}
    assert center.post("/v1/cases", json=BODY, headers=headers).status_code == 201
    other = center.post("/v1/cases", json={"harm_types": ["other"]}, headers=headers)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json["errors"]  # type: ignore[index]
    assert case_count(center) == 1


def test_idempotency_key_still_running_answers_409(agencies: Agencies, rt: Runtime) -> None:
    center = agencies.new("support_center")

    now = utcnow()
    with rt.session_factory() as session:
        session.add(
            IdempotencyRecord(
                client_id=center.client_id,
                key="busy",
                request_hash=request_hash("POST", "/v1/cases", b"{}"),
                state=IN_FLIGHT,
                created_at=now,
                expires_at=now + timedelta(hours=24),
            )
        )
        session.commit()
    response = center.post("/v1/cases", json={}, headers={"Idempotency-Key": "busy"})
    assert response.status_code == 409
    assert case_count(center) == 0


def test_abandoned_in_flight_key_is_taken_over(agencies: Agencies, rt: Runtime) -> None:
    center = agencies.new("support_center")

    long_ago = utcnow() - timedelta(hours=1)
    body = b'{"harm_types":["other"]}'
    with rt.session_factory() as session:
        session.add(
            IdempotencyRecord(
                client_id=center.client_id,
                key="crashed",
                request_hash=request_hash("POST", "/v1/cases", body),
                state=IN_FLIGHT,
                created_at=long_ago,
                expires_at=long_ago + timedelta(hours=24),
            )
        )
        session.commit()
    response = center.post(
        "/v1/cases",
        data=body,
        headers={"Idempotency-Key": "crashed", "Content-Type": "application/json"},
    )
    assert response.status_code == 201


def test_expired_idempotency_key_runs_the_request_again(agencies: Agencies, rt: Runtime) -> None:
    center = agencies.new("support_center")
    headers = {"Idempotency-Key": "old"}
    assert center.post("/v1/cases", json=BODY, headers=headers).status_code == 201
    with rt.session_factory() as session:
        record = session.get(IdempotencyRecord, (center.client_id, "old"))
        assert record is not None
        record.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    again = center.post("/v1/cases", json=BODY, headers=headers)
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert case_count(center) == 2


def test_expired_keys_of_a_client_are_forgotten_on_its_next_claim(
    agencies: Agencies, rt: Runtime
) -> None:
    center = agencies.new("support_center")
    center.post("/v1/cases", json=BODY, headers={"Idempotency-Key": "stale"})
    with rt.session_factory() as session:
        record = session.get(IdempotencyRecord, (center.client_id, "stale"))
        assert record is not None
        record.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    center.post("/v1/cases", json=BODY, headers={"Idempotency-Key": "fresh"})
    with rt.session_factory() as session:
        keys = session.scalars(
            select(IdempotencyRecord.key).where(IdempotencyRecord.client_id == center.client_id)
        ).all()
    assert keys == ["fresh"]


def test_idempotency_keys_belong_to_one_client(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    colleague = agencies.client_of(center.org, "support_center")
    headers = {"Idempotency-Key": "shared-name"}
    first = center.post("/v1/cases", json=BODY, headers=headers)
    second = colleague.post("/v1/cases", json=BODY, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json["id"] != second.json["id"]  # type: ignore[index]


def test_idempotent_patch_replays_instead_of_412(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    path = f"/v1/cases/{case['id']}"
    headers = {"If-Match": '"1"', "Idempotency-Key": "close-it"}
    first = center.patch(path, json={"status": "closed"}, headers=headers)
    retry = center.patch(path, json={"status": "closed"}, headers=headers)
    assert first.status_code == retry.status_code == 200
    assert retry.json == first.json
    assert retry.headers["ETag"] == '"2"'


def test_refused_request_is_replayed_with_its_status(agencies: Agencies, rt: Runtime) -> None:
    center = agencies.new("support_center")
    headers = {"Idempotency-Key": "bad"}
    first = center.post("/v1/cases", json={"harm_types": ["gossip"]}, headers=headers)
    again = center.post("/v1/cases", json={"harm_types": ["gossip"]}, headers=headers)
    assert first.status_code == again.status_code == 422
    assert again.json == first.json
    assert again.headers["Content-Type"] == "application/problem+json"


def test_idempotency_key_must_be_printable_and_short(agencies: Agencies, rt: Runtime) -> None:
    center = agencies.new("support_center")
    for key in ("k" * 256, "caf\u00e9"):
        response = center.post("/v1/cases", json=BODY, headers={"Idempotency-Key": key})
        assert response.status_code == 422
    assert case_count(center) == 0
    with rt.session_factory() as session:
        stored = session.scalars(
            select(IdempotencyRecord.key).where(IdempotencyRecord.client_id == center.client_id)
        ).all()
    assert stored == []


def test_if_match_accepts_star_and_weak_form(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    path = f"/v1/cases/{case['id']}"
    assert (
        center.patch(path, json={"status": "active"}, headers={"If-Match": "*"}).status_code == 200
    )
    assert (
        center.patch(path, json={"status": "monitoring"}, headers={"If-Match": 'W/"2"'}).status_code
        == 200
    )
    assert (
        center.patch(path, json={"status": "closed"}, headers={"If-Match": "2"}).status_code == 412
    )


def test_limit_outside_1_to_200_answers_422(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    for limit in ("0", "201", "-1", "abc", "1.5", " 3"):
        response = center.get(f"/v1/cases?limit={limit}")
        assert response.status_code == 422, limit
        assert "limit" in response.json["errors"]  # type: ignore[index]
    assert center.get("/v1/cases?limit=200").status_code == 200
    assert center.get("/v1/cases?limit=1").status_code == 200


def test_cursor_pagination_walks_every_item_once(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    opened = [open_case(center)["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = center.get(f"/v1/cases{query}").json
        assert body is not None
        assert set(body) == {"items", "next_cursor"}
        seen += [c["id"] for c in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(opened))
    default = center.get("/v1/cases").json
    assert default is not None
    assert len(default["items"]) == 5
    assert default["next_cursor"] is None


def test_tampered_or_foreign_cursor_answers_422(agencies: Agencies) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    open_case(center)
    cursor = center.get("/v1/cases?limit=1").json["next_cursor"]  # type: ignore[index]
    assert cursor
    body, _, signature = cursor.partition(".")
    flipped = ("A" if body[0] != "A" else "B") + body[1:]
    for bad in (f"{flipped}.{signature}", cursor[:-1], "garbage", f"{body}.", "..."):
        response = center.get(f"/v1/cases?cursor={bad}")
        assert response.status_code == 422, bad
        assert "cursor" in response.json["errors"]  # type: ignore[index]
    for _ in range(2):
        center.post(
            f"/v1/cases/{case['id']}/consents",
            json={"purpose": "share_with_police", "granted_by": "victim"},
        )
    consents_cursor = center.get(f"/v1/cases/{case['id']}/consents?limit=1").json["next_cursor"]  # type: ignore[index]
    assert consents_cursor
    assert center.get(f"/v1/cases?cursor={consents_cursor}").status_code == 422


def test_a_cursor_never_shows_another_orgs_cases(agencies: Agencies) -> None:
    center, other = agencies.new("support_center"), agencies.new("support_center")
    for _ in range(3):
        open_case(center)
    cursor = center.get("/v1/cases?limit=1").json["next_cursor"]  # type: ignore[index]
    body = other.get(f"/v1/cases?cursor={cursor}").json
    assert body == {"items": [], "next_cursor": None}
