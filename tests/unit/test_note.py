"""Signed notes, checkpoints and cosignatures, against published answers where there are some.

Keys and signatures marked "Go" come from golang.org/x/mod/sumdb/note note_test.go; Ed25519
is deterministic, so signing the same text with the same key must give the same bytes.
"""

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.note import (
    MAX_SIGNATURES,
    Checkpoint,
    CosignatureVerifier,
    Ed25519Signer,
    Ed25519Verifier,
    InvalidSignatureError,
    MalformedNoteError,
    NoteError,
    NoteSignature,
    UnverifiedNoteError,
    cosign,
    cosignature_message,
    cosignature_timestamp,
    key_id,
    open_note,
    sign_note,
    verify_cosignature,
)

# Go: fixed keys and signatures.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqf"
    "qdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTG"
    "wnWLox33WWd1RvMc+QQ=\n"
)

# c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature: the example checkpoint and the
# example witness signature line (whose public key the spec does not give).
SPEC_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)
SPEC_COSIGNATURE_LINE = (
    "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dl"
    "rDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)


def _peter() -> Ed25519Signer:
    return Ed25519Signer.from_signer_key(PETER_SKEY)


def _peter_seed() -> bytes:
    return base64.b64decode(PETER_SKEY.split("+", 4)[4])[1:]


def _mangled(key: str) -> list[str]:
    """Every proper substring and every one-character increment of ``key`` (as Go's test)."""
    substrings = {
        key[i:j] for i in range(len(key)) for j in range(i + 1, len(key) + 1) if j - i < len(key)
    }
    increments = {key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :] for i in range(len(key))}
    return sorted((substrings | increments) - {key})


def _insert_into_signature(line: str) -> str:
    # Go's test inserts four base64 characters at byte 60 of the UTF-8 line.
    raw = line.encode()
    return (raw[:60] + b"ABCD" + raw[60:]).decode()


# --- Keys ---


def test_signer_key_parses_to_go_key_name_and_id() -> None:
    signer = _peter()
    assert (signer.name, signer.key_id) == ("PeterNeumann", 0xC74F20A3)
    assert signer.signer_key() == PETER_SKEY
    assert signer.verifier().verifier_key() == PETER_VKEY


def test_key_id_is_truncated_sha256_of_name_type_and_key() -> None:
    public_key = base64.b64decode(PETER_VKEY.split("+", 2)[2])[1:]
    digest = hashlib.sha256(b"PeterNeumann\n\x01" + public_key).digest()
    assert key_id("PeterNeumann", 0x01, public_key) == int.from_bytes(digest[:4], "big")
    assert key_id("PeterNeumann", 0x01, public_key) == 0xC74F20A3


def test_verifier_key_round_trips_go_keys() -> None:
    for vkey in (PETER_VKEY, ENOCH_VKEY):
        assert Ed25519Verifier.from_verifier_key(vkey).verifier_key() == vkey


def test_verifier_key_rejects_every_mangling() -> None:
    for bad in _mangled(PETER_VKEY):
        with pytest.raises(NoteError):
            Ed25519Verifier.from_verifier_key(bad)


@pytest.mark.parametrize(
    "vkey",
    [
        # Go: wrong key length with adjusted key id; unknown algorithm with adjusted key id.
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW+",
    ],
)
def test_verifier_key_rejects_bad_type_length_or_name(vkey: str) -> None:
    with pytest.raises(NoteError):
        Ed25519Verifier.from_verifier_key(vkey)


def test_signer_key_rejects_every_mangling() -> None:
    for bad in _mangled(PETER_SKEY):
        with pytest.raises(NoteError):
            Ed25519Signer.from_signer_key(bad)


def test_signer_repr_hides_the_secret_key() -> None:
    signer = _peter()
    secret = PETER_SKEY.split("+", 4)[4]
    assert secret not in repr(signer)
    assert _peter_seed().hex() not in repr(signer)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "nbsp\u00a0"])
def test_signer_rejects_invalid_key_name(name: str) -> None:
    with pytest.raises(NoteError, match="invalid key name"):
        Ed25519Signer.generate(name)


# --- Signed notes ---


def test_sign_note_reproduces_go_signature() -> None:
    assert sign_note(TEXT, _peter()) == TEXT + "\n" + PETER_SIG


def test_open_note_verifies_go_note_with_both_keys() -> None:
    verifiers = [Ed25519Verifier.from_verifier_key(k) for k in (PETER_VKEY, ENOCH_VKEY)]
    body, signatures = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, verifiers)
    assert body == TEXT
    assert [s.to_line() for s in signatures] == [PETER_SIG, ENOCH_SIG]
    assert [(s.name, s.key_id) for s in signatures] == [
        ("PeterNeumann", 0xC74F20A3),
        ("EnochRoot", 0xAF0CFE78),
    ]


def test_open_note_ignores_signature_from_unknown_key() -> None:
    peter = Ed25519Verifier.from_verifier_key(PETER_VKEY)
    _, signatures = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter])
    assert [s.name for s in signatures] == ["PeterNeumann"]


def test_open_note_accepts_bytes() -> None:
    peter = Ed25519Verifier.from_verifier_key(PETER_VKEY)
    body, _ = open_note((TEXT + "\n" + PETER_SIG).encode(), [peter])
    assert body == TEXT


def test_open_note_refuses_note_without_trusted_signature() -> None:
    enoch = Ed25519Verifier.from_verifier_key(ENOCH_VKEY)
    with pytest.raises(UnverifiedNoteError):
        open_note(TEXT + "\n" + PETER_SIG, [enoch])
    with pytest.raises(UnverifiedNoteError):
        open_note(TEXT + "\n" + PETER_SIG, [])


def test_open_note_ignores_signature_with_known_name_but_other_key_id() -> None:
    other = Ed25519Signer.generate("PeterNeumann")
    note = sign_note(TEXT, other)
    with pytest.raises(UnverifiedNoteError):
        open_note(note, [Ed25519Verifier.from_verifier_key(PETER_VKEY)])


def test_open_note_ignores_misnamed_signature() -> None:
    misnamed = PETER_SIG.replace("PeterNeumann", "CarmenSandiego")
    with pytest.raises(UnverifiedNoteError):
        open_note(TEXT + "\n" + misnamed, [Ed25519Verifier.from_verifier_key(PETER_VKEY)])


def test_open_note_refuses_whole_note_when_trusted_signature_fails() -> None:
    verifiers = [Ed25519Verifier.from_verifier_key(k) for k in (PETER_VKEY, ENOCH_VKEY)]
    broken = _insert_into_signature(ENOCH_SIG)
    with pytest.raises(InvalidSignatureError):
        open_note(TEXT + "\n" + PETER_SIG + broken, verifiers)


def test_open_note_refuses_text_changed_after_signing() -> None:
    peter = Ed25519Verifier.from_verifier_key(PETER_VKEY)
    changed = TEXT.replace("answer", "Answer")
    with pytest.raises(InvalidSignatureError):
        open_note(changed + "\n" + PETER_SIG, [peter])


def test_open_note_reports_duplicate_signature_once() -> None:
    peter = Ed25519Verifier.from_verifier_key(PETER_VKEY)
    noise = ENOCH_SIG + _insert_into_signature(ENOCH_SIG)
    _, signatures = open_note(TEXT + "\n" + PETER_SIG + PETER_SIG + noise, [peter])
    assert [s.to_line() for s in signatures] == [PETER_SIG]


@pytest.mark.parametrize(
    "note",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        b"\xff" + (TEXT + "\n" + PETER_SIG).encode(),
        "\ud800" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + "\u2014 Bad Name " + PETER_SIG.split(" ")[2],
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1),
        TEXT + "\n" + "\u2014 PeterNeumann x08g\n",
        TEXT + "\n" + PETER_SIG.replace("AM=", "AN="),
        TEXT + "\n" + "-- PeterNeumann" + PETER_SIG[len("\u2014 PeterNeumann") :],
    ],
    ids=[
        "no-signatures",
        "blank-line-only",
        "no-final-newline",
        "control-character",
        "not-utf8",
        "lone-surrogate",
        "space-in-name",
        "trailing-text",
        "too-many-signatures",
        "signature-too-short",
        "non-canonical-base64",
        "ascii-dashes",
    ],
)
def test_open_note_rejects_malformed_note(note: str | bytes) -> None:
    with pytest.raises(MalformedNoteError):
        open_note(note, [Ed25519Verifier.from_verifier_key(PETER_VKEY)])


def test_open_note_rejects_ambiguous_verifiers() -> None:
    enoch = Ed25519Verifier.from_verifier_key(ENOCH_VKEY)
    with pytest.raises(ValueError, match="ambiguous key"):
        open_note(TEXT + "\n" + ENOCH_SIG, [enoch, enoch])


def test_signed_note_with_blank_lines_in_text_round_trips() -> None:
    signer = Ed25519Signer.generate("example.com/log")
    text = "first\n\nthird\n\n"
    body, _ = open_note(sign_note(text, signer), [signer.verifier()])
    assert body == text


def test_sign_note_with_several_signers_is_verified_by_each() -> None:
    log, other = Ed25519Signer.generate("log.example"), Ed25519Signer.generate("other.example")
    note = sign_note(TEXT, log, other)
    for verifier in (log.verifier(), other.verifier()):
        _, signatures = open_note(note, [verifier])
        assert [s.name for s in signatures] == [verifier.name]


@pytest.mark.parametrize("body", ["abc", "", "tab\there\n", "bell\x07\n"])
def test_sign_note_rejects_malformed_text(body: str) -> None:
    with pytest.raises(MalformedNoteError):
        sign_note(body, _peter())


def test_sign_note_rejects_missing_or_duplicate_signers() -> None:
    with pytest.raises(ValueError, match="at least one signer"):
        sign_note(TEXT)
    with pytest.raises(ValueError, match="share a name and key id"):
        sign_note(TEXT, _peter(), _peter())


# --- Checkpoints ---


def test_checkpoint_parses_and_formats_spec_example() -> None:
    checkpoint = Checkpoint.from_note_body(SPEC_CHECKPOINT)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.to_note_body() == SPEC_CHECKPOINT


def test_checkpoint_keeps_extension_lines() -> None:
    body = SPEC_CHECKPOINT + "extension one\nextension two\n"
    checkpoint = Checkpoint.from_note_body(body)
    assert checkpoint.extensions == ("extension one", "extension two")
    assert checkpoint.to_note_body() == body


def test_checkpoint_of_empty_tree_has_size_zero() -> None:
    empty_root = hashlib.sha256(b"").digest()
    body = Checkpoint("log.example", 0, empty_root).to_note_body()
    assert body == "log.example\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"


@pytest.mark.parametrize(
    "body",
    [
        "example.com/log\n20852163\n",
        "example.com/log\n020852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n+5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n\u0665\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
        "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",
        "example.com/log\n5\nAAAA\n",
        "\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    ],
    ids=[
        "no-root",
        "leading-zero",
        "negative",
        "plus-sign",
        "non-ascii-digit",
        "no-final-newline",
        "empty-extension",
        "non-canonical-base64",
        "short-root",
        "empty-origin",
    ],
)
def test_checkpoint_rejects_malformed_body(body: str) -> None:
    with pytest.raises(MalformedNoteError):
        Checkpoint.from_note_body(body)


def test_signed_checkpoint_opens_to_same_checkpoint() -> None:
    signer = Ed25519Signer.generate("audit.example/log")
    checkpoint = Checkpoint("audit.example/log", 42, hashlib.sha256(b"root").digest())
    body, _ = open_note(sign_note(checkpoint.to_note_body(), signer), [signer.verifier()])
    assert Checkpoint.from_note_body(body) == checkpoint


# --- Cosignatures ---


def test_cosignature_message_matches_spec_example() -> None:
    assert cosignature_message(SPEC_CHECKPOINT, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n"
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_cosignature_line_of_spec_example_parses_to_key_id_and_time() -> None:
    signature = NoteSignature.from_line(SPEC_COSIGNATURE_LINE)
    assert signature.name == "witness.example.com/w1"
    assert signature.key_id == 0x8D66CF3F
    assert cosignature_timestamp(signature) == 1679315147
    assert signature.to_line() == SPEC_COSIGNATURE_LINE


def test_cosignature_timestamp_reads_transparency_dev_example() -> None:
    # transparency-dev/formats note_cosigv1_test.go, TestCoSigV1Timestamp "works".
    payload = (
        "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOwor"
        "DcFiEBYJXORmnFBOBA=="
    )
    signature = NoteSignature.from_line(f"\u2014 witness {payload}\n")
    assert cosignature_timestamp(signature) == 1727964367


def test_cosignature_timestamp_rejects_plain_signature() -> None:
    # transparency-dev/formats: "wrong type of signature", a 68-byte plain note signature.
    payload = (
        "eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W"
        "/4xkNQY="
    )
    signature = NoteSignature.from_line(f"\u2014 log {payload}\n")
    with pytest.raises(MalformedNoteError):
        cosignature_timestamp(signature)


def test_cosign_produces_bytes_built_from_spec() -> None:
    # Expected bytes assembled here from the spec text alone, with the Go test key.
    seed = _peter_seed()
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    public_key = private_key.public_key().public_bytes_raw()
    expected_id = hashlib.sha256(b"PeterNeumann\n\x04" + public_key).digest()[:4]
    message = b"cosignature/v1\ntime 1679315147\n" + SPEC_CHECKPOINT.encode()
    timestamp = (1679315147).to_bytes(8, "big")
    payload = expected_id + timestamp + private_key.sign(message)
    expected_line = "\u2014 PeterNeumann " + base64.b64encode(payload).decode() + "\n"

    assert cosign(SPEC_CHECKPOINT, _peter(), 1679315147).to_line() == expected_line


def test_cosigned_checkpoint_opens_with_log_and_witness_keys() -> None:
    log = Ed25519Signer.generate("audit.example/log")
    witness = Ed25519Signer.generate("witness.example/w1")
    body = Checkpoint("audit.example/log", 7, hashlib.sha256(b"r").digest()).to_note_body()
    note = sign_note(body, log) + cosign(body, witness, 1_700_000_000).to_line()
    witness_verifier = CosignatureVerifier(witness.name, witness.public_key)

    _, signatures = open_note(note, [log.verifier(), witness_verifier])

    assert [(s.name, s.key_id) for s in signatures] == [
        (log.name, log.key_id),
        (witness.name, witness_verifier.key_id),
    ]
    assert verify_cosignature(body, signatures[1], witness_verifier) == 1_700_000_000


def test_cosignature_key_id_differs_from_plain_key_id() -> None:
    witness = _peter()
    verifier = CosignatureVerifier(witness.name, witness.public_key)
    assert verifier.key_id != witness.key_id
    assert verifier.verifier_key().startswith(f"PeterNeumann+{verifier.key_id:08x}+B")


def test_cosignature_verifier_ignores_plain_signature_of_same_key() -> None:
    witness = _peter()
    note = sign_note(SPEC_CHECKPOINT, witness)
    with pytest.raises(UnverifiedNoteError):
        open_note(note, [CosignatureVerifier(witness.name, witness.public_key)])


def test_verify_cosignature_fails_when_timestamp_is_changed() -> None:
    witness = _peter()
    genuine = cosign(SPEC_CHECKPOINT, witness, 1679315147)
    moved = (1679315148).to_bytes(8, "big") + genuine.signature[8:]
    forged = NoteSignature(genuine.name, genuine.key_id, moved)
    with pytest.raises(InvalidSignatureError):
        verify_cosignature(
            SPEC_CHECKPOINT, forged, CosignatureVerifier(witness.name, witness.public_key)
        )


def test_verify_cosignature_fails_for_other_checkpoint() -> None:
    witness = _peter()
    signature = cosign(SPEC_CHECKPOINT, witness, 1679315147)
    other = SPEC_CHECKPOINT.replace("20852163", "20852164")
    with pytest.raises(InvalidSignatureError):
        verify_cosignature(other, signature, CosignatureVerifier(witness.name, witness.public_key))


def test_cosignature_verifier_key_round_trips_and_is_not_a_plain_key() -> None:
    witness = _peter()
    vkey = CosignatureVerifier(witness.name, witness.public_key).verifier_key()
    assert CosignatureVerifier.from_verifier_key(vkey).verifier_key() == vkey
    with pytest.raises(NoteError):
        Ed25519Verifier.from_verifier_key(vkey)
    with pytest.raises(NoteError):
        CosignatureVerifier.from_verifier_key(PETER_VKEY)


@pytest.mark.parametrize("timestamp", [-1, 2**63])
def test_cosign_rejects_timestamp_out_of_range(timestamp: int) -> None:
    with pytest.raises(MalformedNoteError):
        cosign(SPEC_CHECKPOINT, _peter(), timestamp)


def test_cosign_rejects_text_that_is_not_a_checkpoint() -> None:
    with pytest.raises(MalformedNoteError):
        cosign(TEXT, _peter(), 1679315147)
