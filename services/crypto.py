"""Envelope encryption of victim data: AES-256-GCM with one data key per case.

Each case's data key is random, used only for that case, and stored *wrapped* (encrypted with
AES-GCM under the master key). Erasure destroys the wrapped key: without it the ciphertext is
noise, whatever copies of it exist. The master key lives in a file outside the database
(`COORDINATION_DATA_KEY_FILE`), created on first use, readable by the owner only.

Every ciphertext is bound to what it belongs to by its associated data (the case id and the
purpose), so a blob copied to another row, or another case, fails to decrypt instead of
showing one victim's identity under another case.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
FILE_FORMAT = "coordination-data-key/1"


class KeyUnavailable(Exception):
    """A key cannot be used: destroyed, unknown, or the ciphertext does not belong to it."""


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted under one master key (`master_key_id` says which)."""

    master_key_id: str
    blob: bytes  # nonce || AES-GCM(master, data key)


class MasterKeyRing:
    """The master keys: the current one wraps new data keys, older ones still unwrap.

    The file holds JSON: {"format": ..., "current": id, "keys": {id: base64 key}}. Rotating
    (adding a key, re-wrapping every live data key, then dropping the old one) makes every
    backup taken before the rotation unreadable for erased cases too.
    """

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError("the current master key is not in the ring")
        for key in keys.values():
            if len(key) != KEY_BYTES:
                raise ValueError("a master key must be 32 bytes")
        self._keys = dict(keys)
        self.current_id = current

    @classmethod
    def generate(cls) -> "MasterKeyRing":
        key_id = secrets.token_hex(8)
        return cls({key_id: AESGCM.generate_key(bit_length=256)}, key_id)

    @classmethod
    def load_or_create(cls, path: Path) -> "MasterKeyRing":
        """Read the ring from `path`, creating it (mode 0600) if absent. Safe against races."""
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            ring = cls.generate()
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process won the race: read what it wrote
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(ring.to_json())
                    handle.flush()
                    os.fsync(handle.fileno())
                return ring
        return cls.from_json(path.read_text())

    @classmethod
    def from_json(cls, text: str) -> "MasterKeyRing":
        try:
            raw = json.loads(text)
            if raw.get("format") != FILE_FORMAT:
                raise ValueError("unknown data key file format")
            keys = {key_id: base64.b64decode(value) for key_id, value in raw["keys"].items()}
            return cls(keys, raw["current"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"the data key file is not valid: {exc}") from None

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def rotated(self) -> "MasterKeyRing":
        """This ring plus a fresh key, which becomes the current one."""
        key_id = secrets.token_hex(8)
        return MasterKeyRing({**self._keys, key_id: AESGCM.generate_key(bit_length=256)}, key_id)

    def only_current(self) -> "MasterKeyRing":
        """This ring without its older keys: whatever they wrapped can never be unwrapped."""
        return MasterKeyRing({self.current_id: self._keys[self.current_id]}, self.current_id)

    def save(self, path: Path) -> None:
        """Replace the file at `path` atomically, readable by the owner only."""
        path = Path(path)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    def to_json(self) -> str:
        keys = {key_id: base64.b64encode(key).decode() for key_id, key in self._keys.items()}
        return json.dumps({"format": FILE_FORMAT, "current": self.current_id, "keys": keys})

    def derive(self, label: str) -> bytes:
        """A secret for another use (signing pagination cursors), derived from the current key.

        HMAC-SHA256 as a PRF, keyed by the master key: the label separates the uses, and the
        master key itself never leaves this object.
        """
        return hmac.new(self._keys[self.current_id], label.encode(), hashlib.sha256).digest()

    def new_data_key(self, owner: str) -> tuple[bytes, WrappedKey]:
        """A fresh data key for `owner` (a case id), and its wrapped form to store."""
        data_key = AESGCM.generate_key(bit_length=256)
        return data_key, self.wrap(data_key, owner)

    def wrap(self, data_key: bytes, owner: str) -> WrappedKey:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._keys[self.current_id]).encrypt(
            nonce, data_key, _aad("wrap", owner, self.current_id)
        )
        return WrappedKey(self.current_id, nonce + sealed)

    def unwrap(self, wrapped: WrappedKey, owner: str) -> bytes:
        master = self._keys.get(wrapped.master_key_id)
        if master is None:
            raise KeyUnavailable("the master key that wrapped this data key is gone")
        nonce, sealed = wrapped.blob[:NONCE_BYTES], wrapped.blob[NONCE_BYTES:]
        try:
            return AESGCM(master).decrypt(nonce, sealed, _aad("wrap", owner, wrapped.master_key_id))
        except InvalidTag:
            raise KeyUnavailable("the data key does not belong here") from None


def seal(data_key: bytes, plaintext: bytes, owner: str, purpose: str) -> bytes:
    """Encrypt `plaintext` for `owner`/`purpose`; returns nonce || ciphertext || tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(data_key).encrypt(nonce, plaintext, _aad(purpose, owner))


def open_sealed(data_key: bytes, blob: bytes, owner: str, purpose: str) -> bytes:
    try:
        return AESGCM(data_key).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(purpose, owner)
        )
    except InvalidTag:
        raise KeyUnavailable("the ciphertext does not belong here") from None


def _aad(*parts: str) -> bytes:
    return "\x1f".join(("coordination", *parts)).encode()


_rings: dict[Path, tuple[tuple[int, int], MasterKeyRing]] = {}
_rings_lock = threading.Lock()


def master_key_ring(path: Path) -> MasterKeyRing:
    """The ring at `path`, loaded (or created) once per process and re-read when the file
    changes (a rotation by `coordination data-key rotate` reaches running servers)."""
    resolved = Path(path).resolve()
    with _rings_lock:
        stamp = _stamp(resolved)
        cached = _rings.get(resolved)
        if cached is None or cached[0] != stamp:
            ring = MasterKeyRing.load_or_create(resolved)
            _rings[resolved] = (_stamp(resolved), ring)
            return ring
        return cached[1]


def _stamp(path: Path) -> tuple[int, int]:
    """Changes whenever the file is replaced (a new inode) or rewritten."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return (-1, -1)
    return (info.st_ino, info.st_mtime_ns)
