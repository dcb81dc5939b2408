"""The log's signing key, loaded once per process (created on first start, mode 0600)."""

from flask import current_app

from coordination.config import Settings
from coordination.runtime import runtime
from services.audit.checkpoints import load_or_create_signer, origin_for, retired_verifiers
from services.audit.note import Ed25519Signer

_EXTENSION = "coordination.audit_signer"


def signer_for(settings: Settings) -> Ed25519Signer:
    return load_or_create_signer(settings.audit_key_file, origin_for(settings.issuer))


def log_keys(settings: Settings) -> str:
    """Every verifier key of the log, one per line: the current one first, then retired ones."""
    current = signer_for(settings).verifier().verifier_key()
    retired = [v.verifier_key() for v in retired_verifiers(settings.audit_key_file)]
    return "\n".join([current, *retired])


def audit_signer() -> Ed25519Signer:
    signer = current_app.extensions.get(_EXTENSION)
    if signer is None:
        signer = current_app.extensions[_EXTENSION] = signer_for(runtime().settings)
    assert isinstance(signer, Ed25519Signer)
    return signer
