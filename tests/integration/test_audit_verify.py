"""The auditor's export and verify: a valid log passes; any tampering names the first bad index,
in an export and directly in the database."""

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from coordination.api.audit.keys import signer_for
from coordination.audit_cli import audit
from coordination.config import Settings
from coordination.runtime import Runtime
from services.audit.export import verify_database
from services.audit.log import Appended, NodeStore
from services.audit.merkle import root
from services.audit.models import AuditEntry, compute_leaf_hash
from services.audit.verify import LogVerificationError
from tests.conftest import is_postgres
from tests.integration.test_audit_api import append, checkpoint_now, draft
from tests.support.agencies import Agencies


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("COORDINATION_ISSUER", settings.issuer)
    monkeypatch.setenv("COORDINATION_AUDIT_KEY_FILE", str(settings.audit_key_file))
    monkeypatch.setenv("COORDINATION_DATA_KEY_FILE", str(settings.data_key_file))
    monkeypatch.setenv("COORDINATION_SIGNING_KEY_FILE", str(settings.signing_key_file))


def run(*args: str) -> Result:
    return CliRunner().invoke(audit, list(args), catch_exceptions=False)


@pytest.fixture
def exported(rt: Runtime, cli_env: None, tmp_path: Path) -> tuple[Path, list[Appended]]:
    start = datetime.now(UTC) - timedelta(seconds=1)
    entries = append(rt, [draft("org-e") for _ in range(3)])
    checkpoint_now(rt)
    entries += append(rt, [draft("org-e") for _ in range(4)])
    checkpoint_now(rt)
    out = tmp_path / "export"
    result = run("export", "--from", start.isoformat(), "--out", str(out))
    assert result.exit_code == 0, result.output
    return out, entries


def lines(directory: Path) -> list[str]:
    return (directory / "entries.jsonl").read_text().splitlines(keepends=True)


def rewrite(directory: Path, new_lines: list[str]) -> None:
    (directory / "entries.jsonl").write_text("".join(new_lines))


def position(directory: Path, index: int) -> int:
    return next(n for n, line in enumerate(lines(directory)) if json.loads(line)["index"] == index)


def test_verify_passes_on_a_valid_export(exported: tuple[Path, list[Appended]]) -> None:
    out, entries = exported
    result = run("verify", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["tree_size"] >= entries[-1].index + 1
    assert report["checkpoints"] >= 2


def test_verify_names_an_edited_entry(exported: tuple[Path, list[Appended]]) -> None:
    out, entries = exported
    target = entries[2].index
    content = lines(out)
    n = position(out, target)
    record = json.loads(content[n])
    record["outcome"] = "denied"
    content[n] = json.dumps(record) + "\n"
    rewrite(out, content)
    result = run("verify", str(out))
    assert result.exit_code == 1
    assert f"first bad index: {target})" in result.output


def test_verify_names_an_edited_entry_with_a_recomputed_hash_by_its_checkpoint(
    exported: tuple[Path, list[Appended]],
) -> None:
    out, entries = exported
    content = lines(out)
    n = position(out, entries[1].index)
    record = json.loads(content[n])
    record["client_id"] = "someone-else"
    record["leaf_hash"] = compute_leaf_hash({k: v for k, v in record.items() if k != "leaf_hash"})
    content[n] = json.dumps(record) + "\n"
    rewrite(out, content)
    result = run("verify", str(out))
    assert result.exit_code == 1
    assert "do not match the root signed" in result.output


def test_verify_names_a_dropped_entry(exported: tuple[Path, list[Appended]]) -> None:
    out, entries = exported
    target = entries[4].index
    content = lines(out)
    del content[position(out, target)]
    rewrite(out, content)
    result = run("verify", str(out))
    assert result.exit_code == 1
    assert f"first bad index: {target})" in result.output
    assert f"entry {target} is missing" in result.output


def test_verify_names_a_dropped_last_entry(exported: tuple[Path, list[Appended]]) -> None:
    out, _ = exported
    content = lines(out)
    last = json.loads(content[-1])["index"]
    rewrite(out, content[:-1])
    result = run("verify", str(out))
    assert result.exit_code == 1
    assert f"first bad index: {last})" in result.output


def test_verify_names_two_swapped_entries(exported: tuple[Path, list[Appended]]) -> None:
    out, entries = exported
    content = lines(out)
    a, b = position(out, entries[3].index), position(out, entries[5].index)
    content[a], content[b] = content[b], content[a]
    rewrite(out, content)
    result = run("verify", str(out))
    assert result.exit_code == 1
    assert f"first bad index: {entries[3].index})" in result.output


def test_verify_refuses_a_checkpoint_with_a_bad_signature(
    exported: tuple[Path, list[Appended]],
) -> None:
    out, _ = exported
    records = (out / "checkpoints.jsonl").read_text().splitlines()
    last = json.loads(records[-1])
    body, _, block = last["note"].rpartition("\n\n")
    first_line, _, rest = block.partition("\n")
    name, _, encoded = first_line.rpartition(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1  # one bit of the log's signature
    forged_line = f"{name} {base64.b64encode(bytes(raw)).decode()}"
    last["note"] = body + "\n\n" + forged_line + "\n" + rest
    records[-1] = json.dumps(last)
    (out / "checkpoints.jsonl").write_text("\n".join(records) + "\n")
    result = run("verify", str(out))
    assert result.exit_code == 1
    assert "invalid signature" in result.output


def test_verify_requires_a_cosignature_from_a_trusted_witness(
    exported: tuple[Path, list[Appended]],
) -> None:
    out, _ = exported
    from services.audit.note import CosignatureVerifier, Ed25519Signer

    stranger = Ed25519Signer.generate("stranger")
    key = CosignatureVerifier(stranger.name, stranger.public_key).verifier_key()
    result = run("verify", str(out), "--witness-key", key)
    assert result.exit_code == 1
    assert "trusted witness" in result.output


def test_verify_database_passes_on_the_live_log(rt: Runtime, cli_env: None) -> None:
    append(rt, [draft("org-d")])
    checkpoint_now(rt)
    result = run("verify", "--database")
    assert result.exit_code == 0, result.output


# ---- tampering directly in the database (inside a transaction that is rolled back) ----------


@contextmanager
def tampering(rt: Runtime) -> Iterator[tuple[Connection, Session]]:
    """A connection with the append-only triggers off, rolled back at the end."""
    with rt.engine.connect() as connection:
        transaction = connection.begin()
        for table in ("audit_entries", "audit_tree_nodes"):
            if is_postgres(rt.settings.database_url):
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            else:
                connection.execute(text(f"DROP TRIGGER {table}_no_update"))
                connection.execute(text(f"DROP TRIGGER {table}_no_delete"))
        try:
            yield connection, Session(bind=connection)
        finally:
            transaction.rollback()


def first_bad_index(rt: Runtime, session: Session) -> int | None:
    log_key = signer_for(rt.settings).verifier().verifier_key()
    with pytest.raises(LogVerificationError) as failure:
        verify_database(session, log_key)
    return failure.value.index


@pytest.fixture
def signed(rt: Runtime) -> list[AuditEntry]:
    """Four entries as stored (what tampering rewrites), inside a signed checkpoint."""
    indexes = [entry.index for entry in append(rt, [draft("org-t") for _ in range(4)])]
    checkpoint_now(rt)
    with rt.session_factory() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.index.in_(indexes)).order_by(AuditEntry.index)
            )
        )


def test_database_edit_is_named(rt: Runtime, signed: list[AuditEntry]) -> None:
    target = signed[1].index
    with tampering(rt) as (connection, session):
        connection.execute(
            text("UPDATE audit_entries SET outcome = 'denied' WHERE \"index\" = :i"), {"i": target}
        )
        assert first_bad_index(rt, session) == target


def test_database_delete_is_named(rt: Runtime, signed: list[AuditEntry]) -> None:
    target = signed[2].index
    with tampering(rt) as (connection, session):
        connection.execute(text('DELETE FROM audit_entries WHERE "index" = :i'), {"i": target})
        assert first_bad_index(rt, session) == target


def test_database_swap_is_named(rt: Runtime, signed: list[AuditEntry]) -> None:
    a, b = signed[0], signed[3]
    with tampering(rt) as (connection, session):
        for entry, other in ((a, b), (b, a)):
            connection.execute(
                text(
                    "UPDATE audit_entries SET event_id = :e, request_id = :r, resource = :res,"
                    ' leaf_hash = :h WHERE "index" = :i'
                ),
                {
                    "e": other.event_id + "-x",
                    "r": other.request_id,
                    "res": other.resource,
                    "h": other.leaf_hash,
                    "i": entry.index,
                },
            )
        assert first_bad_index(rt, session) == a.index


def test_database_insert_out_of_band_is_named(rt: Runtime, signed: list[AuditEntry]) -> None:
    with tampering(rt) as (connection, session):
        size = connection.execute(text("SELECT size FROM audit_tree_state")).scalar_one()
        forged = draft("org-forged")
        connection.execute(
            text(
                'INSERT INTO audit_entries ("index", at, org, client_id, action, resource,'
                " outcome, request_id, case_id, event_id, leaf_hash) VALUES (:i, :at, 'x', 'x',"
                " 'case.read', '/v1/cases/x', 'allowed', NULL, NULL, :e, :h)"
            ),
            {"i": size, "at": forged.at, "e": forged.event_id, "h": "00" * 32},
        )
        assert first_bad_index(rt, session) == size


def test_database_rewritten_node_fails_against_the_checkpoint(
    rt: Runtime, signed: list[AuditEntry]
) -> None:
    target = signed[1]
    with tampering(rt) as (connection, session):
        connection.execute(
            text("UPDATE audit_entries SET org = 'rewritten', leaf_hash = :h WHERE \"index\" = :i"),
            {
                "i": target.index,
                "h": compute_leaf_hash({**target.document(), "org": "rewritten"}),
            },
        )
        connection.execute(
            text('UPDATE audit_tree_nodes SET hash = :h WHERE level = 0 AND "index" = :i'),
            {
                "i": target.index,
                "h": bytes.fromhex(compute_leaf_hash({**target.document(), "org": "rewritten"})),
            },
        )
        bad = first_bad_index(rt, session)
        assert bad is not None
        assert bad <= target.index


def test_export_lines_are_canonical_json(exported: tuple[Path, list[Appended]]) -> None:
    out, _ = exported
    from services.audit.canonical import canonical_json

    for line in (out / "entries.jsonl").read_bytes().splitlines():
        assert canonical_json(json.loads(line)) == line


def test_verify_accepts_an_export_reformatted_by_another_tool(
    exported: tuple[Path, list[Appended]],
) -> None:
    out, _ = exported
    rewrite(out, [json.dumps(json.loads(line), indent=None) + "\n" for line in lines(out)])
    result = run("verify", str(out))
    assert result.exit_code == 0, result.output


def test_erasing_a_victim_identity_leaves_verify_passing_with_the_same_roots(
    agencies: Agencies, rt: Runtime
) -> None:
    from tests.support.cases import open_case

    center = agencies.new("support_center")
    case = open_case(center)
    put = center.put(f"/v1/cases/{case['id']}/victim", json={"name": "Kim Example"})
    assert put.status_code in (200, 201), put.json
    append(
        rt,
        [
            draft(center.org, case_id=case["id"], action="victim.write"),
            draft(center.org, case_id=case["id"], action="victim.read"),
        ],
    )
    checkpoint_now(rt)
    log_key = signer_for(rt.settings).verifier().verifier_key()
    with rt.session_factory() as session:
        before = verify_database(session, log_key)
    erased = center.delete(f"/v1/cases/{case['id']}/victim")
    assert erased.status_code == 204, erased.get_data(as_text=True)
    with rt.session_factory() as session:
        after = verify_database(session, log_key)
        same_size_root = root(NodeStore(session), before.tree_size)
    assert same_size_root == before.root_hash
    assert after.tree_size >= before.tree_size
