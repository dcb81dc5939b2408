"""The checkpointer as a background worker of `serve` (see `coordination.serving`)."""

import threading

from coordination.api.audit.keys import signer_for
from coordination.config import Settings
from coordination.runtime import Runtime
from services.audit.checkpoints import DEFAULT_INTERVAL_S, Checkpointer, retired_verifiers


def run_checkpointer(
    settings: Settings, stop: threading.Event, interval: float = DEFAULT_INTERVAL_S
) -> None:
    """Sign a checkpoint whenever the audit log grew, every `interval` s, until `stop` is set.

    Creates the log's key file on first start. Safe to run in several processes at once: the
    tree lock makes each size signed once.
    """
    runtime = Runtime.build(settings)
    try:
        Checkpointer(
            runtime.session_factory,
            signer_for(settings),
            runtime.clock,
            interval=interval,
            retired=retired_verifiers(settings.audit_key_file),
        ).run(stop)
    finally:
        runtime.engine.dispose()
