"""`coordination serve` runs its background workers in one spawned process and stops them."""

import os
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from coordination import serving
from coordination.cli import main as cli
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


@pytest.mark.parametrize(("flags", "background"), [([], None), (["--no-background"], [])])
def test_serve_no_background_runs_the_api_alone(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    background: list[str] | None,
) -> None:
    """`serve` hands run_server its background workers: the default (None: all of
    BACKGROUND_WORKERS), or none with --no-background (the API nodes of a split deployment)."""
    seen: dict[str, object] = {}

    def fake_run_server(settings: Settings, **options: object) -> None:
        seen.update(options)

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setattr(serving, "run_server", fake_run_server)
    result = CliRunner().invoke(cli, ["serve", "--port", "8123", *flags])
    assert result.exit_code == 0, result.output
    assert seen["port"] == 8123
    assert seen["background"] == background


def test_no_background_starts_no_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """run_server with background=[] starts no background worker (and the default all)."""
    started: list[list[str]] = []
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")  # run_server sets it: restored after

    def fake_start(targets: list[str]) -> None:
        started.append(list(targets))

    monkeypatch.setattr(serving, "start_background", fake_start)
    monkeypatch.setattr(serving, "_serve_granian", lambda *a, **k: None)
    settings = Settings.from_env(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "KAFKA_BOOTSTRAP_SERVERS": "x:1"}
    )
    serving.run_server(settings, host="127.0.0.1", port=1, workers=1, threads=1, background=[])
    serving.run_server(settings, host="127.0.0.1", port=1, workers=1, threads=1)
    assert started == [[], serving.BACKGROUND_WORKERS]
