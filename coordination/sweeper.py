"""The sweeper (issue 7): `coordination sweep [--follow]`, and a background thread of `serve`.

Each pass announces `referral.overdue` once per late referral and moves cases whose every item
is removed to `monitoring`. Several sweepers may run at once (the handler claims each late
referral with an upsert), so a deployment can run one per host without coordination.
"""

import logging
import threading

from coordination.config import Settings
from coordination.runtime import Runtime
from services.monitoring.commands import Sweep
from services.monitoring.handlers import SweepReport, sweep

#: Seconds between passes of a following sweeper: the clock's resolution, well under its 24 h.
INTERVAL_S = 30.0

log = logging.getLogger("coordination.sweeper")


def sweep_once(runtime: Runtime) -> SweepReport:
    return sweep(Sweep(), runtime.uow())


def follow(runtime: Runtime, stop: threading.Event, interval_s: float = INTERVAL_S) -> None:
    """Sweep every `interval_s` seconds until `stop` is set; a failed pass is logged and retried."""
    while not stop.is_set():
        try:
            report = sweep_once(runtime)
            if report.overdue or report.monitoring:
                log.info(
                    "sweep",
                    extra={"overdue": len(report.overdue), "monitoring": len(report.monitoring)},
                )
        except Exception:  # the next pass retries; the worker must not die
            log.exception("sweep failed")
        stop.wait(interval_s)


def run_sweeper(settings: Settings, stop: threading.Event) -> None:
    """`serve`'s background worker (coordination.serving.BACKGROUND_WORKERS)."""
    runtime = Runtime.build(settings)
    try:
        follow(runtime, stop)
    finally:
        runtime.engine.dispose()
