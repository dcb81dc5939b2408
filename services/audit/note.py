"""Signed notes, checkpoints and cosignatures in the C2SP formats, with Ed25519.

- https://c2sp.org/signed-note: a text ending in a newline, a blank line, then one line per
  signature: ``— <key name> base64(4-byte key id || signature)``.
- https://c2sp.org/tlog-checkpoint: the note text of a signed tree head, ``origin``, tree
  size and base64 root hash, one per line.
- https://c2sp.org/tlog-cosignature: a witness's timestamped Ed25519 signature (type 0x04)
  over ``cosignature/v1\\ntime <t>\\n`` followed by the checkpoint text.

The wire formats match Go's golang.org/x/mod/sumdb/note, so keys and notes can be checked
with the ecosystem's tools.
"""

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Protocol, Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_TYPE_ED25519 = 0x01
SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04

# The spec asks verifiers to accept at least 16; Go's sumdb/note stops at 100.
MAX_SIGNATURES = 100

_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_PRIVATE_KEY_PREFIX = "PRIVATE+KEY+"
_KEY_ID_HEX = re.compile(r"[0-9a-fA-F]{8}")
_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")
_ED25519_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64
_TIMESTAMP_SIZE = 8
_MAX_TIMESTAMP = 2**63 - 1
_ROOT_HASH_SIZE = 32


class NoteError(ValueError):
    """A note, key or checkpoint was refused."""


class MalformedNoteError(NoteError):
    """The text does not follow the format."""


class InvalidSignatureError(NoteError):
    """A signature from a trusted key does not verify: the whole note is refused."""


class UnverifiedNoteError(NoteError):
    """No signature on the note is from a trusted key."""


def key_id(name: str, signature_type: int, public_key: bytes) -> int:
    """The 32-bit key id: SHA-256(name || 0x0A || signature type || public key)[:4]."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: who signed (name and key id) and the signature bytes after the id."""

    name: str
    key_id: int
    signature: bytes

    def __post_init__(self) -> None:
        _checked_name(self.name)
        if not 0 <= self.key_id < 2**32:
            raise NoteError("key id must fit in 32 bits")

    def to_line(self) -> str:
        """The wire form, newline included, ready to append to a signed note."""
        payload = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_SIGNATURE_PREFIX}{self.name} {_b64encode(payload)}\n"

    @classmethod
    def from_line(cls, line: str) -> Self:
        """Parse one signature line, its final newline included."""
        if not line.startswith(_SIGNATURE_PREFIX) or not line.endswith("\n"):
            raise MalformedNoteError("not a signature line")
        name, separator, encoded = line[len(_SIGNATURE_PREFIX) : -1].partition(" ")
        if not separator or not _is_valid_name(name):
            raise MalformedNoteError("bad key name in signature line")
        payload = _b64decode(encoded)
        if len(payload) < 5:
            raise MalformedNoteError("signature too short")
        return cls(name, int.from_bytes(payload[:4], "big"), payload[4:])


class NoteVerifier(Protocol):
    """A trusted key: the signatures it checks are those with its name and key id."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (the bytes after the key id) signs ``message``."""
        ...


class NoteSigner(Protocol):
    """A private key that signs note text under its name and key id."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, message: bytes) -> bytes: ...


class _Ed25519PublicKey:
    """A named Ed25519 public key under one signature type, with its vkey encoding."""

    signature_type: ClassVar[int]

    def __init__(self, name: str, public_key: bytes) -> None:
        self._name = _checked_name(name)
        self._key = _load_public_key(public_key)
        self._public_key = bytes(public_key)
        self._key_id = key_id(name, self.signature_type, self._public_key)

    @classmethod
    def from_verifier_key(cls, vkey: str) -> Self:
        """Parse ``name+hexkeyid+base64(type || public key)``; type and key id must match."""
        name, public_key = _parse_verifier_key(vkey, cls.signature_type)
        return cls(name, public_key)

    def verifier_key(self) -> str:
        return _format_verifier_key(self._name, self.signature_type, self._public_key)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        return self._public_key

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.verifier_key()!r})"


class Ed25519Verifier(_Ed25519PublicKey):
    """Checks plain Ed25519 note signatures (signature type 0x01)."""

    signature_type = SIGNATURE_TYPE_ED25519

    def verify(self, message: bytes, signature: bytes) -> bool:
        return _ed25519_verify(self._key, message, signature)


class Ed25519Signer:
    """Signs notes with Ed25519 (signature type 0x01). Its repr never shows the key."""

    signature_type = SIGNATURE_TYPE_ED25519

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._name = _checked_name(name)
        self._key = private_key
        self._public_key = private_key.public_key().public_bytes_raw()
        self._key_id = key_id(name, self.signature_type, self._public_key)

    @classmethod
    def generate(cls, name: str) -> Self:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_signer_key(cls, skey: str) -> Self:
        """Parse ``PRIVATE+KEY+name+hexkeyid+base64(0x01 || seed)``; the key id must match."""
        if not skey.startswith(_PRIVATE_KEY_PREFIX):
            raise NoteError("not a signer key")
        text = skey[len(_PRIVATE_KEY_PREFIX) :]
        name, claimed_id, seed = _split_key(text, cls.signature_type)
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(seed))
        if claimed_id != signer.key_id:
            raise NoteError("key id does not match the key")
        return signer

    def signer_key(self) -> str:
        """The secret key as a string, to keep in a secret store."""
        seed = self._key.private_bytes_raw()
        encoded = _b64encode(bytes([self.signature_type]) + seed)
        return f"{_PRIVATE_KEY_PREFIX}{self._name}+{self._key_id:08x}+{encoded}"

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self._name, self._public_key)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        return self._public_key

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"Ed25519Signer(name={self._name!r}, key_id={self._key_id:08x})"


@dataclass(frozen=True)
class Checkpoint:
    """A tree head in tlog-checkpoint form; the note text is what the log signs."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _is_valid_line(self.origin):
            raise MalformedNoteError("origin must be one non-empty line")
        if self.size < 0:
            raise MalformedNoteError("tree size must not be negative")
        if len(self.root_hash) != _ROOT_HASH_SIZE:
            raise MalformedNoteError(f"root hash must be {_ROOT_HASH_SIZE} bytes")
        if not all(_is_valid_line(line) for line in self.extensions):
            raise MalformedNoteError("extension lines must be non-empty single lines")

    def to_note_body(self) -> str:
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def from_note_body(cls, body: str) -> Self:
        if not body.endswith("\n"):
            raise MalformedNoteError("checkpoint must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedNoteError("checkpoint needs origin, size and root hash")
        origin, size, root_hash, *extensions = lines
        if not _TREE_SIZE.fullmatch(size):
            raise MalformedNoteError("tree size must be a decimal without leading zeros")
        return cls(origin, int(size), _b64decode(root_hash), tuple(extensions))


def sign_note(body: str, *signers: NoteSigner) -> str:
    """The signed note: ``body``, a blank line, then one signature line per signer."""
    if not _checked_text(body).endswith("\n"):
        raise MalformedNoteError("note text must end with a newline")
    if not signers:
        raise ValueError("a note needs at least one signer")
    if len({(signer.name, signer.key_id) for signer in signers}) != len(signers):
        raise ValueError("two signers share a name and key id")
    message = body.encode()
    lines = []
    for signer in signers:
        _checked_name(signer.name)
        signature = NoteSignature(signer.name, signer.key_id, signer.sign(message))
        lines.append(signature.to_line())
    return body + "\n" + "".join(lines)


def open_note(
    text: str | bytes, verifiers: Iterable[NoteVerifier]
) -> tuple[str, list[NoteSignature]]:
    """Check a signed note against the trusted keys; returns its text and the signatures
    that verified.

    Signatures from unknown keys are ignored, as the spec requires. A signature from a
    trusted key that fails refuses the whole note (``InvalidSignatureError``), and so does a
    note that no trusted key signed (``UnverifiedNoteError``).
    """
    body, signatures = _split_note(_checked_text(text))
    trusted = _index_verifiers(verifiers)
    message = body.encode()
    verified: list[NoteSignature] = []
    for signature in signatures:
        verifier = trusted.get((signature.name, signature.key_id))
        if verifier is None:
            continue
        if not verifier.verify(message, signature.signature):
            raise InvalidSignatureError(
                f"invalid signature for key {signature.name}+{signature.key_id:08x}"
            )
        if signature not in verified:
            verified.append(signature)
    if not verified:
        raise UnverifiedNoteError("note has no signature from a trusted key")
    return body, verified


class CosignatureVerifier(_Ed25519PublicKey):
    """Checks a witness's cosignature/v1 signatures (signature type 0x04)."""

    signature_type = SIGNATURE_TYPE_COSIGNATURE_V1

    def verify(self, message: bytes, signature: bytes) -> bool:
        """``message`` is the checkpoint text; ``signature`` is timestamp || Ed25519 signature."""
        if len(signature) != _TIMESTAMP_SIZE + _ED25519_SIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")
        try:
            signed = cosignature_message(message.decode(), timestamp)
        except (UnicodeDecodeError, NoteError):
            return False
        return _ed25519_verify(self._key, signed, signature[_TIMESTAMP_SIZE:])


def cosignature_message(checkpoint_body: str, timestamp: int) -> bytes:
    """What a cosigner signs: ``cosignature/v1``, ``time <timestamp>``, then the checkpoint."""
    _check_timestamp(timestamp)
    Checkpoint.from_note_body(checkpoint_body)
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_body}".encode()


def cosign(checkpoint_body: str, signer: Ed25519Signer, timestamp: int) -> NoteSignature:
    """A witness's cosignature on a checkpoint, as of ``timestamp`` (POSIX seconds).

    The signer's Ed25519 key is used under signature type 0x04, so the key id differs from
    the one of its plain note signatures. Append ``to_line()`` to the signed checkpoint note.
    """
    signed = signer.sign(cosignature_message(checkpoint_body, timestamp))
    return NoteSignature(
        name=signer.name,
        key_id=key_id(signer.name, SIGNATURE_TYPE_COSIGNATURE_V1, signer.public_key),
        signature=timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signed,
    )


def cosignature_timestamp(signature: NoteSignature) -> int:
    """The time a cosignature claims, in POSIX seconds; not a proof that it verifies."""
    if len(signature.signature) != _TIMESTAMP_SIZE + _ED25519_SIGNATURE_SIZE:
        raise MalformedNoteError("not an Ed25519 cosignature")
    timestamp = int.from_bytes(signature.signature[:_TIMESTAMP_SIZE], "big")
    _check_timestamp(timestamp)
    return timestamp


def verify_cosignature(
    checkpoint_body: str, signature: NoteSignature, verifier: CosignatureVerifier
) -> int:
    """Check one cosignature on a checkpoint; returns its timestamp."""
    if (signature.name, signature.key_id) != (verifier.name, verifier.key_id):
        raise InvalidSignatureError("cosignature is from another key")
    if not verifier.verify(checkpoint_body.encode(), signature.signature):
        raise InvalidSignatureError(
            f"invalid cosignature for key {signature.name}+{signature.key_id:08x}"
        )
    return cosignature_timestamp(signature)


def _split_note(text: str) -> tuple[str, list[NoteSignature]]:
    # The text ends at the last blank line; it may hold blank lines of its own.
    if not text.endswith("\n"):
        raise MalformedNoteError("note must end with a newline")
    split = text.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note has no signature block")
    body, block = text[: split + 1], text[split + 2 :]
    lines = block.split("\n")[:-1]
    if not lines:
        raise MalformedNoteError("note has no signatures")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError("note has too many signatures")
    return body, [NoteSignature.from_line(line + "\n") for line in lines]


def _index_verifiers(
    verifiers: Iterable[NoteVerifier],
) -> dict[tuple[str, int], NoteVerifier]:
    index: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in verifiers:
        key = (verifier.name, verifier.key_id)
        if key in index:
            raise ValueError(f"ambiguous key {verifier.name}+{verifier.key_id:08x}")
        index[key] = verifier
    return index


def _checked_text(text: str | bytes) -> str:
    """Notes are UTF-8 without control characters other than newline."""
    try:
        raw = text if isinstance(text, bytes) else text.encode("utf-8")
        decoded = raw.decode("utf-8")
    except UnicodeError as error:
        raise MalformedNoteError("note is not valid UTF-8") from error
    if _has_control_characters(decoded.replace("\n", "")):
        raise MalformedNoteError("note holds control characters")
    return decoded


def _split_key(text: str, signature_type: int) -> tuple[str, int, bytes]:
    """``name+hexkeyid+base64(type || key)`` -> (name, key id, key), not yet cross-checked."""
    # Base64 may hold "+": only the first two are separators.
    parts = text.split("+", 2)
    if len(parts) != 3 or not _is_valid_name(parts[0]) or not _KEY_ID_HEX.fullmatch(parts[1]):
        raise NoteError("malformed key")
    name, id_hex, encoded = parts
    try:
        typed_key = _b64decode(encoded)
    except MalformedNoteError as error:
        raise NoteError("malformed key") from error
    if len(typed_key) != 1 + _ED25519_KEY_SIZE or typed_key[0] != signature_type:
        raise NoteError("unsupported key type or length")
    return name, int(id_hex, 16), typed_key[1:]


def _parse_verifier_key(vkey: str, signature_type: int) -> tuple[str, bytes]:
    name, claimed_id, public_key = _split_key(vkey, signature_type)
    if claimed_id != key_id(name, signature_type, public_key):
        raise NoteError("key id does not match the key")
    return name, public_key


def _format_verifier_key(name: str, signature_type: int, public_key: bytes) -> str:
    identifier = key_id(name, signature_type, public_key)
    return f"{name}+{identifier:08x}+{_b64encode(bytes([signature_type]) + public_key)}"


def _load_public_key(public_key: bytes) -> Ed25519PublicKey:
    if len(public_key) != _ED25519_KEY_SIZE:
        raise NoteError(f"an Ed25519 public key is {_ED25519_KEY_SIZE} bytes")
    return Ed25519PublicKey.from_public_bytes(public_key)


def _ed25519_verify(key: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    if len(signature) != _ED25519_SIGNATURE_SIZE:
        return False
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str) -> bytes:
    # Only the canonical encoding, so each signature and key has exactly one spelling.
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise MalformedNoteError("bad base64") from error
    if not text or _b64encode(data) != text:
        raise MalformedNoteError("bad base64")
    return data


def _is_valid_name(name: str) -> bool:
    """Key names are non-empty, without Unicode spaces, plus signs or control characters."""
    return bool(name) and not any(char.isspace() or char == "+" or char < " " for char in name)


def _checked_name(name: str) -> str:
    if not _is_valid_name(name):
        raise NoteError(f"invalid key name {name!r}")
    return name


def _is_valid_line(line: str) -> bool:
    return bool(line) and not _has_control_characters(line)


def _has_control_characters(text: str) -> bool:
    return any(char < " " for char in text)


def _check_timestamp(timestamp: int) -> None:
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise MalformedNoteError("cosignature timestamp out of range")
