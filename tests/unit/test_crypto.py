import stat
from pathlib import Path

import pytest

from services.crypto import KeyUnavailable, MasterKeyRing, open_sealed, seal


def test_seal_opens_only_for_its_owner_and_purpose() -> None:
    ring = MasterKeyRing.generate()
    key, wrapped = ring.new_data_key("case-1")
    blob = seal(key, b"secret name", "case-1", "victim-identity")
    assert b"secret name" not in blob
    assert open_sealed(ring.unwrap(wrapped, "case-1"), blob, "case-1", "victim-identity") == (
        b"secret name"
    )
    with pytest.raises(KeyUnavailable):
        open_sealed(key, blob, "case-2", "victim-identity")
    with pytest.raises(KeyUnavailable):
        open_sealed(key, blob, "case-1", "other")
    with pytest.raises(KeyUnavailable):
        ring.unwrap(wrapped, "case-2")


def test_another_master_key_cannot_unwrap() -> None:
    _, wrapped = MasterKeyRing.generate().new_data_key("c")
    with pytest.raises(KeyUnavailable):
        MasterKeyRing.generate().unwrap(wrapped, "c")


def test_key_file_is_created_owner_only_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "data-key"
    ring = MasterKeyRing.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = MasterKeyRing.load_or_create(path)
    _, wrapped = ring.new_data_key("c")
    assert again.unwrap(wrapped, "c") == ring.unwrap(wrapped, "c")
    assert ring.derive("cursor") == again.derive("cursor") != ring.derive("other")


def test_a_broken_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data-key"
    path.write_text('{"format": "nope"}')
    with pytest.raises(ValueError, match="not valid"):
        MasterKeyRing.load_or_create(path)
