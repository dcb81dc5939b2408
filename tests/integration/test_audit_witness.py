"""Checkpoints reach every entry within seconds; witnesses cosign only a log that extends what
they saw, and the log publishes their cosignatures."""

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from coordination.audit_cli import Transport, WitnessFailure, audit, run_witness
from coordination.audit_worker import run_checkpointer
from coordination.runtime import Runtime
from services.audit.checkpoints import load_or_create_signer
from services.audit.merkle import MemoryTree, consistency_proof, leaf_hash, root
from services.audit.note import (
    Checkpoint,
    CosignatureVerifier,
    Ed25519Signer,
    NoteSignature,
    sign_note,
    verify_cosignature,
)
from services.audit.witness import WitnessRefusal, WitnessState, witness
from tests.integration.test_audit_api import append, checkpoint_now, draft
from tests.integration.test_audit_verify import cli_env  # noqa: F401
from tests.support.agencies import Agencies


def client_transport(http: FlaskClient) -> Transport:
    def send(
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        response = http.open(path, method=method, json=body, data=form, headers=headers)
        return response.status_code, response.get_json(silent=True)

    return send


def test_every_entry_is_in_a_signed_checkpoint_within_5_s(agencies: Agencies, rt: Runtime) -> None:
    auditor = agencies.new("auditor")
    stop = threading.Event()
    worker = threading.Thread(target=run_checkpointer, args=(rt.settings, stop, 0.2))
    worker.start()
    try:
        (entry,) = append(rt, [draft("org-live")])
        started = time.monotonic()
        while time.monotonic() - started < 5:
            response = auditor.get("/v1/audit/checkpoint")
            if response.status_code == 200 and response.json["tree_size"] > entry.index:
                break
            time.sleep(0.05)
        else:
            pytest.fail("entry not in a signed checkpoint after 5 s")
    finally:
        stop.set()
        worker.join(timeout=10)


def test_witness_cosigns_and_the_checkpoint_carries_it(
    agencies: Agencies, rt: Runtime, tmp_path: Path
) -> None:
    police = agencies.new("police")
    signer = Ed25519Signer.generate(f"witness-{uuid.uuid4().hex[:6]}")
    state = tmp_path / "state.json"
    send = client_transport(police.http)
    append(rt, [draft("org-w")])
    checkpoint_now(rt)
    first = run_witness(send, signer, state, token=police.token)
    assert first["status"] == 201
    append(rt, [draft("org-w") for _ in range(3)])
    checkpoint_now(rt)
    second = run_witness(send, signer, state, token=police.token)
    assert second["tree_size"] > first["tree_size"]

    body = police.get("/v1/audit/checkpoint").json
    witness_key = CosignatureVerifier(signer.name, signer.public_key)
    (mine,) = [c for c in body["cosignatures"] if c["witness"] == signer.name]
    assert mine["verifier_key"] == witness_key.verifier_key()
    assert mine["line"] in body["note"]
    text = body["note"][: body["note"].rfind("\n\n") + 1]
    verify_cosignature(text, NoteSignature.from_line(mine["line"]), witness_key)


def test_witness_refuses_a_log_that_forked_from_what_it_saw(
    agencies: Agencies, rt: Runtime, tmp_path: Path
) -> None:
    police = agencies.new("police")
    signer = Ed25519Signer.generate("witness-fork")
    state_path = tmp_path / "state.json"
    send = client_transport(police.http)
    append(rt, [draft("org-f")])
    checkpoint_now(rt)
    run_witness(send, signer, state_path, token=police.token)
    seen = WitnessState.load(state_path)
    assert seen is not None
    forged = WitnessState(seen.log_key, seen.size, bytes(32), seen.note)
    forged.save(state_path)
    with pytest.raises(WitnessRefusal, match="two different trees"):
        run_witness(send, signer, state_path, token=police.token)


def test_witness_refuses_a_rewritten_history() -> None:
    log = Ed25519Signer.generate("example.org/audit")
    honest, rewritten = MemoryTree(), MemoryTree()
    for n in range(5):
        honest.append(leaf_hash(f"entry {n}".encode()))
        rewritten.append(leaf_hash(f"entry {n}".encode() if n != 2 else b"forged"))
    for n in range(5, 9):
        rewritten.append(leaf_hash(f"entry {n}".encode()))
    seen_note = sign_note(Checkpoint(log.name, 5, root(honest, 5)).to_note_body(), log)
    _, state = witness(
        seen_note, log.verifier().verifier_key(), None, lambda a, b: [], log, 1_700_000_000
    )
    new_note = sign_note(Checkpoint(log.name, 9, root(rewritten, 9)).to_note_body(), log)
    with pytest.raises(WitnessRefusal, match="not consistent"):
        witness(
            new_note,
            log.verifier().verifier_key(),
            state,
            lambda a, b: consistency_proof(rewritten, a, b),
            Ed25519Signer.generate("w"),
            1_700_000_100,
        )


def test_witness_refuses_a_log_that_went_back(agencies: Agencies, rt: Runtime) -> None:
    log = Ed25519Signer.generate("example.org/audit")
    tree = MemoryTree()
    for n in range(4):
        tree.append(leaf_hash(bytes([n])))
    state = WitnessState(log.verifier().verifier_key(), 4, root(tree, 4), "")
    note = sign_note(Checkpoint(log.name, 3, root(tree, 3)).to_note_body(), log)
    with pytest.raises(WitnessRefusal, match="went back"):
        witness(note, state.log_key, state, lambda a, b: [], log, 1)


def test_witness_refuses_a_checkpoint_signed_by_another_key(
    agencies: Agencies, rt: Runtime
) -> None:
    log, impostor = Ed25519Signer.generate("example.org/audit"), Ed25519Signer.generate("x")
    note = sign_note(Checkpoint("x", 1, bytes(32)).to_note_body(), impostor)
    with pytest.raises(WitnessRefusal, match="does not verify"):
        witness(note, log.verifier().verifier_key(), None, lambda a, b: [], log, 1)


def test_cosignature_that_does_not_verify_is_refused(agencies: Agencies, rt: Runtime) -> None:
    auditor = agencies.new("auditor")
    append(rt, [draft("org-c")])
    checkpoint_now(rt)
    head = auditor.get("/v1/audit/checkpoint").json
    signer = Ed25519Signer.generate("witness-bad")
    other_body = Checkpoint(head["origin"], head["tree_size"], bytes(32)).to_note_body()
    from services.audit.note import cosign

    line = cosign(other_body, signer, int(time.time())).to_line()
    response = auditor.post(
        "/v1/audit/checkpoint/cosignatures",
        json={
            "tree_size": head["tree_size"],
            "cosignature": line,
            "verifier_key": CosignatureVerifier(signer.name, signer.public_key).verifier_key(),
        },
    )
    assert response.status_code == 422, response.json


def test_only_witness_orgs_may_cosign(agencies: Agencies, rt: Runtime, tmp_path: Path) -> None:
    center = agencies.new("support_center")
    append(rt, [draft("org-c")])
    checkpoint_now(rt)
    with pytest.raises(WitnessFailure, match="403"):
        run_witness(
            client_transport(center.http),
            Ed25519Signer.generate("center-witness"),
            tmp_path / "s.json",
            token=center.token,
        )


def test_log_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "var" / "audit-key"
    first = load_or_create_signer(path, "example.org/audit")
    again = load_or_create_signer(path, "ignored")
    assert path.stat().st_mode & 0o777 == 0o600
    assert again.verifier().verifier_key() == first.verifier().verifier_key()


@pytest.mark.usefixtures("cli_env")
def test_checkpoint_command_signs_the_new_entries(rt: Runtime) -> None:
    (entry,) = append(rt, [draft("org-cli")])
    result = CliRunner().invoke(audit, ["checkpoint"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert int(result.output.splitlines()[1]) > entry.index
    again = CliRunner().invoke(audit, ["checkpoint"], catch_exceptions=False)
    assert "nothing to sign" in again.output


@pytest.mark.usefixtures("cli_env")
def test_witness_command_fetches_a_token_and_cosigns(
    agencies: Agencies, rt: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commission = agencies.new("standards_commission")
    monkeypatch.setattr(
        "coordination.audit_cli.http_transport", lambda url: client_transport(commission.http)
    )
    append(rt, [draft("org-cli")])
    checkpoint_now(rt)
    key = tmp_path / "witness.key"
    args = ["witness", "--url", "http://coordination.test", "--key", str(key)]
    args += ["--client-id", commission.client_id, "--client-secret", commission.client_secret]
    result = CliRunner().invoke(audit, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["status"] == 201
    assert key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "witness.key.state.json").exists()
    body = commission.get("/v1/audit/checkpoint").json
    assert report["witness_key"] in [c["verifier_key"] for c in body["cosignatures"]]


def test_witness_refuses_a_log_whose_key_changed() -> None:
    old, new = (
        Ed25519Signer.generate("example.org/audit"),
        Ed25519Signer.generate("example.org/audit"),
    )
    tree = MemoryTree()
    tree.append(leaf_hash(b"0"))
    state = WitnessState(old.verifier().verifier_key(), 1, root(tree, 1), "")
    note = sign_note(Checkpoint(new.name, 1, root(tree, 1)).to_note_body(), new)
    with pytest.raises(WitnessRefusal, match="key changed"):
        witness(note, new.verifier().verifier_key(), state, lambda a, b: [], new, 1)
