"""Master key rotation: erasure reaches backups; live identities stay readable."""

import json

import pytest
from click.testing import CliRunner

from coordination.cli import main
from coordination.runtime import Runtime
from services.crypto import KeyUnavailable, MasterKeyRing, WrappedKey, master_key_ring
from services.victims.handlers import rotate_master_key
from services.victims.models import CaseKey
from tests.support.agencies import Agencies
from tests.support.cases import open_case


def test_rotation_makes_a_backup_of_an_erased_case_key_useless(
    agencies: Agencies, rt: Runtime
) -> None:
    center = agencies.new("support_center")
    kept, erased = open_case(center), open_case(center)
    for case in (kept, erased):
        assert center.put(f"/v1/cases/{case['id']}/victim", json={"name": "N"}).status_code == 200
    with rt.session_factory() as session:  # "the backup"
        row = session.get(CaseKey, erased["id"])
        assert row is not None
        backup = WrappedKey(row.master_key_id or "", row.wrapped_key or b"")
    assert center.delete(f"/v1/cases/{erased['id']}/victim").status_code == 204
    # Before rotation the backup still unwraps with the master key of the day...
    master_key_ring(rt.settings.data_key_file).unwrap(backup, erased["id"])

    done = rotate_master_key(rt.uow(), rt.settings.data_key_file)

    assert done.rewrapped >= 1
    assert backup.master_key_id in done.dropped
    ring = master_key_ring(rt.settings.data_key_file)
    assert ring.current_id == done.current
    assert ring.key_ids == {done.current}
    with pytest.raises(KeyUnavailable):
        ring.unwrap(backup, erased["id"])
    with pytest.raises(KeyUnavailable):
        MasterKeyRing.load_or_create(rt.settings.data_key_file).unwrap(backup, erased["id"])
    # The live identity is still there, now under the new key.
    assert center.get(f"/v1/cases/{kept['id']}/victim").json["name"] == "N"  # type: ignore[index]
    with rt.session_factory() as session:
        row = session.get(CaseKey, kept["id"])
        assert row is not None
        assert row.master_key_id == done.current


def test_data_key_rotate_command_prints_what_it_did(agencies: Agencies, rt: Runtime) -> None:
    center = agencies.new("support_center")
    case = open_case(center)
    center.put(f"/v1/cases/{case['id']}/victim", json={"name": "M"})
    settings = rt.settings
    env = {
        "DATABASE_URL": settings.database_url,
        "COORDINATION_DATA_KEY_FILE": str(settings.data_key_file),
        "COORDINATION_SIGNING_KEY_FILE": str(settings.signing_key_file),
        "COORDINATION_AUDIT_KEY_FILE": str(settings.audit_key_file),
    }
    result = CliRunner().invoke(main, ["data-key", "rotate"], env=env)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["rewrapped"] >= 1
    assert printed["current"] not in printed["dropped"]
    assert center.get(f"/v1/cases/{case['id']}/victim").json["name"] == "M"  # type: ignore[index]
