"""What authentication costs (issue 3), in the same run: one trivial view (`{"status": "ok"}`)
of the real app (request ids, JSON request log, metrics, problem handling) served over HTTP by
the same server as the service (bench/auth_app.py, 2 workers x 8 threads), loaded by wrk:

- `auth_none`:  GET /bench/ping, no token;
- `auth_token`: GET /bench/ping-authed, the same view behind `@authorize`: the bearer token
  verified (ES256 signature, header, claims; after its first request from the process's memory
  of verified tokens), the revoked-token / disabled-client check (from memory on PostgreSQL,
  coordination/auth/refusals.py), the actor built. Target: at least 85 % of `auth_none`.
- `auth_v1`:    GET /v1/bench/ping, the same under /v1 as every API request meets it: plus
  the per-client token bucket and the access record each /v1 request writes (a commit).

`token_endpoint`: POST /oauth/token of the service itself (client_credentials,
client_secret_basic), tokens per second. One client asks again and again, so after its first
request the secret's scrypt check is remembered (coordination/auth/verified.py); the figure is
the signing and the endpoint, not scrypt.

The auth_* scenarios are Python scenarios only because bench/run knows two apps (service and
baseline): each starts bench/auth_app.py once per run and drives it with wrk itself; their
`connections` column is the wrk connection count.
"""

import atexit
import base64
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench import wrk
from bench.scenario import (
    REPO,
    Context,
    HttpScenario,
    Prepared,
    PythonScenario,
    Sample,
    SetupError,
    register,
)

ORG = "seoul-dsc"
SCOPES = "cases.read"
WORKERS = int(os.environ.get("BENCH_WORKERS", 2))
THREADS = int(os.environ.get("BENCH_THREADS", 8))
SERVER = os.environ.get("BENCH_SERVER", "granian")
CONNECTIONS = (16,)

_lock = threading.Lock()
_running: dict[str, tuple[str, str]] = {}  # database url -> (base url, bearer token)


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server(context: Context) -> tuple[str, str]:
    """bench/auth_app.py, started once per run (stopped when bench/run exits), and a token."""
    with _lock:
        if context.database_url in _running:
            return _running[context.database_url]
        port = _free_port()
        env = {
            **os.environ,
            **context.env,
            "PYTHONPATH": str(REPO),
            # The limiter still runs on /v1; it must not refuse the benchmark's one client.
            "COORDINATION_RATE_LIMIT_PER_S": "100000000",
            "COORDINATION_RATE_LIMIT_BURST": "100000000",
        }
        log = (context.workdir / "auth-app.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.auth_app", "--port", str(port), "--server", SERVER,
             "--workers", str(WORKERS), "--threads", str(THREADS)],
            cwd=context.workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        atexit.register(_stop, process)
        base = f"http://127.0.0.1:{port}"
        _wait_ready(process, base + "/healthz")
        client_id, secret = context.create_client(ORG, SCOPES)
        saved, context.base_url = context.base_url, base
        try:
            token = context.access_token(client_id, secret)
        finally:
            context.base_url = saved
        _running[context.database_url] = (base, token)
        return base, token


def _wait_ready(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SetupError("bench/auth_app.py exited: see auth-app.log in the work directory")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SetupError("bench/auth_app.py did not get ready in 60 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _runner(name: str, path: str, with_token: bool) -> Any:
    def run(context: Context, connections: int, duration_s: float) -> Sample:
        base, token = _server(context)
        headers = {"Authorization": f"Bearer {token}"} if with_token else {}
        scenario = HttpScenario(name=name, summary="", path=path)
        lua_file = Path(context.workdir) / f"{name}.lua"
        lua_file.write_text(wrk.script(scenario, Prepared(headers=headers)))
        return wrk.run(
            base + path, lua_file, connections=connections, duration_s=duration_s, threads=1
        )

    return run


def _setup(context: Context) -> dict[str, Any]:
    _server(context)
    return {"server": SERVER, "workers": WORKERS, "threads_per_worker": THREADS, "http": True}


for _name, _path, _with_token, _summary in (
    ("auth_none", "/bench/ping", False, "trivial view of the service app, no token (HTTP)"),
    ("auth_token", "/bench/ping-authed", True, "the same view behind @authorize (HTTP)"),
    ("auth_v1", "/v1/bench/ping", True, "the same under /v1: guard, limiter, access record"),
):
    register(
        PythonScenario(
            name=_name,
            summary=_summary,
            run=_runner(_name, _path, _with_token),
            setup=_setup,
            threads=CONNECTIONS,
        )
    )


def _token_setup(context: Context) -> Prepared:
    client_id, secret = context.create_client(ORG, SCOPES)
    return Prepared(headers={"Authorization": _basic(client_id, secret)})


register(
    HttpScenario(
        name="token_endpoint",
        summary="POST /oauth/token, client_credentials with client_secret_basic",
        path="/oauth/token",
        method="POST",
        lua=(
            'wrk.body = "grant_type=client_credentials"\n'
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"'
        ),
        setup=_token_setup,
    )
)
