"""The audit API over HTTP: entries and their filters, checkpoints, proofs, cosignatures."""

import base64
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from coordination.api.audit.keys import signer_for
from coordination.runtime import Runtime
from services.audit.checkpoints import sign_checkpoint
from services.audit.log import Appended, EntryDraft, append_entries
from services.audit.merkle import verify_consistency, verify_inclusion
from services.audit.note import Checkpoint, Ed25519Verifier, open_note
from services.cases.models import Case
from tests.support.agencies import Agencies


def draft(org: str, *, case_id: str | None = None, **overrides: Any) -> EntryDraft:
    fields: dict[str, Any] = {
        "at": datetime.now(UTC),
        "org": org,
        "client_id": f"{org}-client",
        "action": "case.read",
        "resource": f"/v1/cases/{case_id or uuid.uuid4()}",
        "outcome": "allowed",
        "request_id": uuid.uuid4().hex,
        "case_id": case_id,
        "event_id": str(uuid.uuid4()),
    }
    fields.update(overrides)
    return EntryDraft(**fields)


def append(rt: Runtime, drafts: list[EntryDraft]) -> list[Appended]:
    with rt.session_factory() as session:
        entries = append_entries(session, drafts)
        session.commit()
    return entries


def checkpoint_now(rt: Runtime) -> None:
    with rt.session_factory() as session:
        sign_checkpoint(session, signer_for(rt.settings), rt.clock)
        session.commit()


def new_case(rt: Runtime, owner: str) -> str:
    case_id = str(uuid.uuid4())
    with rt.session_factory() as session:
        case = Case.open(
            case_id=case_id,
            reference=f"T-{uuid.uuid4().hex[:12]}",
            owner_org=owner,
            harm_types=["other"],
            age_band="20s",
            now=datetime.now(UTC),
        )
        case.pull_events()
        session.add(case)
        session.commit()
    return case_id


@contextmanager
def counted_queries(rt: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(rt.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(rt.engine, "before_cursor_execute", count)


# ---- entries -------------------------------------------------------------------------------


def test_auditor_lists_entries_newest_first_with_filters(agencies: Agencies, rt: Runtime) -> None:
    auditor = agencies.new("auditor")
    org = f"org-{uuid.uuid4().hex[:8]}"
    entries = append(rt, [draft(org, action="case.read"), draft(org, action="victim.read")])
    response = auditor.get(f"/v1/audit/entries?org={org}")
    assert response.status_code == 200, response.json
    body = response.json
    assert [item["index"] for item in body["items"]] == [e.index for e in reversed(entries)]
    assert body["next_cursor"] is None
    assert body["items"][0]["leaf_hash"] == entries[1].leaf_hash
    only = auditor.get(f"/v1/audit/entries?org={org}&action=victim.read").json["items"]
    assert [item["action"] for item in only] == ["victim.read"]


def test_entries_filter_by_time_window(agencies: Agencies, rt: Runtime) -> None:
    auditor = agencies.new("auditor")
    org = f"org-{uuid.uuid4().hex[:8]}"
    old = datetime(2025, 1, 1, 10, tzinfo=UTC)
    append(rt, [draft(org, at=old), draft(org, at=old + timedelta(days=40))])
    response = auditor.get(
        f"/v1/audit/entries?org={org}&from=2025-01-01T00:00:00Z&to=2025-01-02T00:00:00Z"
    )
    assert [item["at"] for item in response.json["items"]] == ["2025-01-01T10:00:00.000000Z"]


def test_entries_page_with_a_cursor(agencies: Agencies, rt: Runtime) -> None:
    auditor = agencies.new("auditor")
    org = f"org-{uuid.uuid4().hex[:8]}"
    entries = append(rt, [draft(org) for _ in range(5)])
    seen: list[int] = []
    url = f"/v1/audit/entries?org={org}&limit=2"
    while url:
        body = auditor.get(url).json
        seen += [item["index"] for item in body["items"]]
        url = f"/v1/audit/entries?org={org}&limit=2&cursor={body['next_cursor']}"
        if body["next_cursor"] is None:
            break
    assert seen == [e.index for e in reversed(entries)]


@pytest.mark.parametrize("query", ["limit=201", "outcome=maybe", "from=yesterday", "color=red"])
def test_entries_refuse_bad_query(agencies: Agencies, query: str) -> None:
    response = agencies.new("auditor").get(f"/v1/audit/entries?{query}")
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"


def test_support_center_reads_only_entries_about_its_own_cases(
    agencies: Agencies, rt: Runtime
) -> None:
    center = agencies.new("support_center")
    other = agencies.new("support_center")
    mine = new_case(rt, center.org)
    theirs = new_case(rt, other.org)
    police = f"police-{uuid.uuid4().hex[:8]}"
    own_entry, other_entry = append(
        rt, [draft(police, case_id=mine), draft(police, case_id=theirs)]
    )
    listed = center.get(f"/v1/audit/entries?org={police}").json["items"]
    assert [item["index"] for item in listed] == [own_entry.index]
    assert center.get(f"/v1/audit/entries/{own_entry.index}").status_code == 200
    assert center.get(f"/v1/audit/entries/{other_entry.index}").status_code == 404
    assert (
        agencies.new("auditor").get(f"/v1/audit/entries/{other_entry.index}").json["case_id"]
        == theirs
    )


def test_support_center_gets_inclusion_proofs_only_for_its_own_entries(
    agencies: Agencies, rt: Runtime
) -> None:
    center = agencies.new("support_center")
    mine = new_case(rt, center.org)
    own_entry, other_entry = append(rt, [draft("org-i", case_id=mine), draft("org-i")])
    checkpoint_now(rt)
    assert center.get(f"/v1/audit/proofs/inclusion?index={own_entry.index}").status_code == 200
    assert center.get(f"/v1/audit/proofs/inclusion?index={other_entry.index}").status_code == 404


def test_entries_need_the_audit_read_scope(agencies: Agencies) -> None:
    police = agencies.new("police")
    assert police.get("/v1/audit/entries").status_code == 403
    assert police.get("/v1/audit/review?month=2026-01").status_code == 403


@pytest.mark.parametrize("index", ["999999999", str(2**63), "399965967639192516204286705664"])
def test_unknown_entry_answers_404(agencies: Agencies, index: str) -> None:
    """Also past the largest index a BIGINT holds (a 500 before, found by test_api_fuzz)."""
    assert agencies.new("auditor").get(f"/v1/audit/entries/{index}").status_code == 404


# ---- checkpoints and proofs ----------------------------------------------------------------


def test_checkpoint_is_a_signed_note_that_verifies_with_the_published_key(
    agencies: Agencies, rt: Runtime
) -> None:
    auditor = agencies.new("auditor")
    (entry,) = append(rt, [draft("org-x")])
    checkpoint_now(rt)
    key = auditor.get("/v1/audit/key").json
    body = auditor.get("/v1/audit/checkpoint").json
    verifier = Ed25519Verifier.from_verifier_key(key["log_key"])
    assert base64.b64decode(key["public_key"]) == verifier.public_key
    text, _ = open_note(body["note"], [verifier])
    parsed = Checkpoint.from_note_body(text)
    assert parsed.size == body["tree_size"] > entry.index
    assert parsed.root_hash.hex() == body["root_hash"]
    assert parsed.origin == key["origin"] == body["origin"]


def test_inclusion_proof_verifies_against_the_checkpoint_root(
    agencies: Agencies, rt: Runtime
) -> None:
    auditor = agencies.new("auditor")
    entries = append(rt, [draft("org-y") for _ in range(3)])
    checkpoint_now(rt)
    head = auditor.get("/v1/audit/checkpoint").json
    for entry in entries:
        proof = auditor.get(f"/v1/audit/proofs/inclusion?index={entry.index}").json
        assert proof["tree_size"] == head["tree_size"]
        assert proof["leaf_hash"] == entry.leaf_hash
        verify_inclusion(
            bytes.fromhex(entry.leaf_hash),
            entry.index,
            head["tree_size"],
            [bytes.fromhex(h) for h in proof["audit_path"]],
            bytes.fromhex(head["root_hash"]),
        )


def test_consistency_proof_links_two_checkpoints(agencies: Agencies, rt: Runtime) -> None:
    auditor = agencies.new("auditor")
    append(rt, [draft("org-z")])
    checkpoint_now(rt)
    first = auditor.get("/v1/audit/checkpoint").json
    append(rt, [draft("org-z") for _ in range(3)])
    checkpoint_now(rt)
    second = auditor.get("/v1/audit/checkpoint").json
    answer = auditor.get(
        f"/v1/audit/proofs/consistency?first={first['tree_size']}&second={second['tree_size']}"
    ).json
    assert answer["first_root"] == first["root_hash"]
    assert answer["second_root"] == second["root_hash"]
    verify_consistency(
        first["tree_size"],
        second["tree_size"],
        bytes.fromhex(first["root_hash"]),
        bytes.fromhex(second["root_hash"]),
        [bytes.fromhex(h) for h in answer["proof"]],
    )


@pytest.mark.parametrize(
    "path",
    [
        "/v1/audit/proofs/inclusion",
        "/v1/audit/proofs/inclusion?index=-1",
        "/v1/audit/proofs/inclusion?index=5&tree_size=5",
        "/v1/audit/proofs/consistency?first=0&second=3",
        "/v1/audit/proofs/consistency?first=4&second=3",
    ],
)
def test_proofs_refuse_impossible_sizes(agencies: Agencies, rt: Runtime, path: str) -> None:
    append(rt, [draft("org-p") for _ in range(5)])
    response = agencies.new("auditor").get(path)
    assert response.status_code == 422, response.json


def test_proofs_beyond_the_log_answer_404(agencies: Agencies) -> None:
    auditor = agencies.new("auditor")
    assert auditor.get("/v1/audit/proofs/inclusion?index=0&tree_size=999999999").status_code == 404
    assert auditor.get("/v1/audit/proofs/consistency?first=1&second=999999999").status_code == 404
    # Beyond any BIGINT index, too: a 404, not a database error.
    huge = 10**20
    assert auditor.get(f"/v1/audit/proofs/inclusion?index=0&tree_size={huge}").status_code == 404
    assert auditor.get(f"/v1/audit/proofs/consistency?first=1&second={huge}").status_code == 404
    assert auditor.get(f"/v1/audit/checkpoint?tree_size={huge}").status_code == 404


def test_proofs_read_logarithmically_many_rows(agencies: Agencies, rt: Runtime) -> None:
    auditor = agencies.new("auditor")
    append(rt, [draft("org-q") for _ in range(70)])
    checkpoint_now(rt)
    size = auditor.get("/v1/audit/checkpoint").json["tree_size"]
    with counted_queries(rt) as baseline:
        auditor.get("/v1/audit/key")
    bound = len(baseline) + 4 * size.bit_length() + 4
    for path in (
        f"/v1/audit/proofs/inclusion?index={size // 3}&tree_size={size}",
        f"/v1/audit/proofs/consistency?first={size // 2 + 1}&second={size}",
    ):
        with counted_queries(rt) as statements:
            assert auditor.get(path).status_code == 200
        assert len(statements) <= bound, (path, len(statements), bound)
