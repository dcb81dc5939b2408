"""The sweeper as it runs (issue 7): `coordination sweep` once, and following in a thread as
`serve` runs it, both announcing a late referral overdue exactly once."""

import json
import threading
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from coordination.cli import main
from coordination.config import Settings
from coordination.runtime import Runtime
from coordination.serving import BACKGROUND_WORKERS, load_target
from coordination.sweeper import follow
from services.referrals.models import Referral
from tests.support.agencies import Agencies
from tests.support.monitoring import events, open_case, register, send_takedown
from tests.support.stream import wait_for


def late_takedown(rt: Runtime, agencies: Agencies) -> str:
    """A takedown sent to the commission whose 24 hours are over."""
    center = agencies.new("support_center")
    commission = agencies.new("standards_commission")
    case_id = open_case(rt, center)
    referral = send_takedown(center, commission, case_id, [register(center, case_id)["id"]])
    with rt.uow() as uow:
        past = rt.clock.now() - timedelta(minutes=1)
        uow.session.execute(
            update(Referral).where(Referral.id == referral["id"]).values(due_at=past)
        )
        uow.commit()
    return str(referral["id"])


def test_sweep_command_announces_late_referral_once(
    rt: Runtime, agencies: Agencies, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    referral_id = late_takedown(rt, agencies)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)

    first = CliRunner().invoke(main, ["sweep"])
    second = CliRunner().invoke(main, ["sweep"])

    assert first.exit_code == 0, first.output
    assert referral_id in json.loads(first.output)["overdue"]
    assert referral_id not in json.loads(second.output)["overdue"]
    assert len(events(rt, subject=referral_id, type_="referral.overdue")) == 1


def test_following_sweeper_announces_late_referral_while_it_runs(
    rt: Runtime, agencies: Agencies
) -> None:
    stop = threading.Event()
    worker = threading.Thread(target=follow, args=(rt, stop, 0.05), daemon=True)
    worker.start()
    try:
        referral_id = late_takedown(rt, agencies)
        wait_for(
            lambda: events(rt, subject=referral_id, type_="referral.overdue"),
            what="referral.overdue",
        )
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert len(events(rt, subject=referral_id, type_="referral.overdue")) == 1


def test_serve_background_worker_sweeps_at_start_and_stops_when_told(
    rt: Runtime, agencies: Agencies, settings: Settings
) -> None:
    referral_id = late_takedown(rt, agencies)
    target = "coordination.sweeper:run_sweeper"
    assert target in BACKGROUND_WORKERS
    stop = threading.Event()
    worker = threading.Thread(target=load_target(target), args=(settings, stop), daemon=True)

    worker.start()
    try:
        wait_for(
            lambda: events(rt, subject=referral_id, type_="referral.overdue"),
            what="referral.overdue",
        )
    finally:
        stop.set()
        worker.join(timeout=10)

    assert not worker.is_alive()
