"""A history rewritten and re-signed by whoever holds the log's key verifies on its own, but not
against a checkpoint a witness holds (`verify --held`)."""

import json
from pathlib import Path

from click.testing import CliRunner, Result

from coordination.audit_cli import audit
from services.audit.canonical import canonical_json
from services.audit.merkle import MemoryTree, consistency_proof, leaf_hash, root
from services.audit.note import Checkpoint, Ed25519Signer, sign_note

LOG = Ed25519Signer.generate("example.org/audit")


def document(index: int, org: str = "seoul-dsc") -> dict[str, object]:
    return {
        "index": index,
        "at": "2026-11-30T12:00:00.000000Z",
        "org": org,
        "client_id": "c",
        "action": "case.read",
        "resource": f"/v1/cases/{index}",
        "outcome": "allowed",
        "request_id": None,
        "case_id": None,
        "event_id": f"event-{index}",
    }


def write_export(
    directory: Path, documents: list[dict[str, object]], sizes: list[int]
) -> dict[int, str]:
    """An export signed with the log's key; returns the checkpoint notes by size."""
    directory.mkdir()
    tree = MemoryTree()
    with (directory / "entries.jsonl").open("wb") as file:
        for doc in documents:
            digest = leaf_hash(canonical_json(doc))  # type: ignore[arg-type]
            tree.append(digest)
            file.write(canonical_json({**doc, "leaf_hash": digest.hex()}) + b"\n")  # type: ignore[dict-item]
    notes: dict[int, str] = {}
    with (directory / "checkpoints.jsonl").open("w") as file:
        previous = 0
        for size in sizes:
            notes[size] = sign_note(
                Checkpoint(LOG.name, size, root(tree, size)).to_note_body(), LOG
            )
            proof = consistency_proof(tree, previous, size) if previous else []
            record = {"size": size, "note": notes[size], "witness_keys": []}
            record["consistency_proof"] = [h.hex() for h in proof]
            file.write(json.dumps(record) + "\n")
            previous = size
    (directory / "log.vkey").write_text(LOG.verifier().verifier_key() + "\n")
    (directory / "range.json").write_text(json.dumps({"start": 0, "end": sizes[-1], "border": []}))
    return notes


def verify(*args: str) -> Result:
    return CliRunner().invoke(audit, ["verify", *args], catch_exceptions=False)


def test_rewritten_history_fails_against_a_held_checkpoint(tmp_path: Path) -> None:
    honest = [document(n) for n in range(6)]
    held = write_export(tmp_path / "honest", honest, [3, 6])
    rewritten = [document(n, org="rewritten" if n == 1 else "seoul-dsc") for n in range(6)]
    write_export(tmp_path / "rewritten", rewritten, [3, 6])
    note = tmp_path / "held.note"
    note.write_text(held[3])

    assert verify(str(tmp_path / "rewritten")).exit_code == 0
    assert verify(str(tmp_path / "honest"), "--held", str(note)).exit_code == 0
    result = verify(str(tmp_path / "rewritten"), "--held", str(note))
    assert result.exit_code == 1
    assert "differs from the one a witness holds" in result.output
    assert "first bad index: 0)" in result.output


def test_held_checkpoint_between_exported_ones_is_checked(tmp_path: Path) -> None:
    honest_tree = MemoryTree()
    for n in range(6):
        honest_tree.append(leaf_hash(canonical_json(document(n))))  # type: ignore[arg-type]
    state = tmp_path / "witness.state.json"
    body = Checkpoint(LOG.name, 4, root(honest_tree, 4)).to_note_body()
    state.write_text(json.dumps({"note": sign_note(body, LOG)}))
    rewritten = [document(n, org="x" if n == 2 else "seoul-dsc") for n in range(6)]
    write_export(tmp_path / "rewritten", rewritten, [6])
    result = verify(str(tmp_path / "rewritten"), "--held", str(state))
    assert result.exit_code == 1
    assert "witness-held checkpoint 4" in result.output
