"""`coordination serve` runs its background workers in one spawned process and stops them."""

import os
import threading
import time
from pathlib import Path

import pytest

from coordination.config import Settings
from coordination.serving import APP_FACTORY, start_background, stop_background

MARKER = "COORDINATION_TEST_WORKER_MARKER"


def marker_worker(settings: Settings, stop: threading.Event) -> None:
    """A background worker: says it runs, waits for stop, says it stopped."""
    path = Path(os.environ[MARKER])
    path.write_text("started")
    stop.wait()
    path.write_text("stopped")


def wait_for(path: Path, text: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not (path.exists() and path.read_text() == text):
        assert time.monotonic() < deadline, f"{path} never said {text!r}"
        time.sleep(0.05)


def test_background_workers_start_and_stop_with_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "marker"
    monkeypatch.setenv(MARKER, str(marker))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")

    process = start_background([f"{__name__}:marker_worker"])
    assert process is not None
    try:
        wait_for(marker, "started")
    finally:
        stop_background(process)

    assert marker.read_text() == "stopped"
    assert process.exitcode == 0


def test_no_background_process_without_workers() -> None:
    assert start_background([]) is None


def test_serve_builds_the_app_with_json_logging() -> None:
    assert APP_FACTORY == "coordination.app:serve_app"
