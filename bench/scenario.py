"""What a benchmark scenario is, the registry that holds them, and what their setup can use.

A scenario is one of two kinds:

- `HttpScenario`: requests that `wrk` sends to a running server. It names the app (`service`,
  the real API as `coordination serve` runs it, with or without its background workers, or
  `baseline`, the trivial app of bench/baseline_app.py), the path, optionally a method and
  JSON body or a Lua snippet that varies the requests, and a `setup` that runs once per run
  against the service server it is measured on and returns headers (e.g. a bearer token),
  generated Lua (e.g. a table of ids) and fields to report.
- `PythonScenario`: a callable that the harness runs in threads, no HTTP (e.g. the raw
  database ceiling). It reports the same fields, with `connections` = the number of threads.

A module in bench/scenarios/ calls `register(...)` at import time; bench/run discovers them all.
"""

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import requests

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Prepared:
    """What an HTTP scenario's setup hands to wrk."""

    headers: dict[str, str] = field(default_factory=dict)
    lua: str = ""  # extra Lua placed before the scenario's own Lua (e.g. `ids = {...}`)
    fields: dict[str, Any] = field(default_factory=dict)  # extra fields for results.json


@dataclass(frozen=True)
class Sample:
    """One measurement: a wrk run, or a run of a Python scenario."""

    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int = 0  # socket errors and timeouts
    non_2xx: int = 0  # answers outside 2xx/3xx

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0


@dataclass(frozen=True)
class HttpScenario:
    name: str
    summary: str
    path: str
    app: Literal["service", "baseline"] = "service"
    method: str = "GET"
    json_body: Any = None
    # Lua run by wrk after `wrk.method/body/headers` are set: may define `request()` etc.
    lua: str = ""
    setup: "Callable[[Context], Prepared] | None" = None
    connections: tuple[int, ...] = (16,)
    # True: measured on every server of BENCH_SERVERS (the server comparison); False: only on
    # the chosen default server.
    compare_servers: bool = False
    # The service only: False runs it as an API node does (`serve --no-background`: no relay,
    # consumers, sweeper or checkpointer sharing the cores), in a server process of its own.
    background: bool = True


@dataclass(frozen=True)
class PythonScenario:
    name: str
    summary: str
    # (context, threads, duration_s) -> Sample
    run: "Callable[[Context, int, float], Sample]"
    setup: "Callable[[Context], dict[str, Any]] | None" = None  # returns extra fields to report
    threads: tuple[int, ...] = (1, 4)
    unit: str = "requests"  # what requests_per_s counts, e.g. "transactions"


Scenario = HttpScenario | PythonScenario


def timed_threads(threads: int, duration_s: float, operation: Callable[[], None]) -> Sample:
    """Run OPERATION in a loop on THREADS threads for DURATION_S; time every call."""
    return sample_from_latencies(*timed_latencies(threads, duration_s, operation))


def timed_latencies(
    threads: int,
    duration_s: float,
    operation: Callable[[], None],
    ready: Callable[[], Any] | None = None,
) -> tuple[list[float], float]:
    """`timed_threads`' measurement: every call's latency (sorted, seconds) and the elapsed
    time. READY, if given, is called once the threads are up, just before the clock starts
    (e.g. a barrier shared with other processes)."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)
    deadline = 0.0

    def worker(mine: list[float]) -> None:
        start.wait()
        while (began := time.perf_counter()) < deadline:
            operation()
            mine.append(time.perf_counter() - began)

    workers = [threading.Thread(target=worker, args=(mine,)) for mine in latencies]
    for thread in workers:
        thread.start()
    if ready is not None:
        ready()
    began = time.perf_counter()
    deadline = began + duration_s
    start.wait()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - began
    return sorted(x for mine in latencies for x in mine), elapsed


#: What a process of `timed_processes` runs: (*args, part, parts, threads) -> (operation, close),
#: PART being the process's number among PARTS (to share out rows, say). A module-level function,
#: since it is named to a freshly spawned interpreter.
OperationFactory = Callable[..., tuple[Callable[[], None], Callable[[], None]]]


def split(threads: int, processes: int) -> list[int]:
    """THREADS shared among PROCESSES as evenly as can be (16 in 2: 8 and 8)."""
    processes = max(1, min(processes, threads))
    return [threads // processes + (1 if n < threads % processes else 0) for n in range(processes)]


def timed_processes(
    processes: int,
    threads: int,
    duration_s: float,
    factory: OperationFactory,
    *args: Any,
) -> Sample:
    """`timed_threads` over PROCESSES processes with THREADS threads among them, as the server
    runs its workers: each process (spawned, so a GIL of its own) builds its operation with
    `factory(*args, part, parts, its_threads)`, warms up, and then all start the clock
    together. The sample counts every process's calls over the longest elapsed time, and
    merges their latencies."""
    import multiprocessing

    shares = split(threads, processes)
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(len(shares) + 1)
    results = spawn.Queue()
    children = [
        spawn.Process(
            target=_timed_process,
            args=(factory, (*args, part, len(shares)), share, duration_s, barrier, results),
            daemon=True,
        )
        for part, share in enumerate(shares)
    ]
    for child in children:
        child.start()
    try:
        # A process that fails breaks the barrier: its message is among the results.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=120)  # every process up and warm
        outcomes = [results.get(timeout=duration_s + 120) for _ in children]
    finally:
        barrier.abort()
        for child in children:
            child.join(timeout=30)
            if child.is_alive():
                child.kill()
    latencies: list[float] = []
    for outcome in outcomes:
        if isinstance(outcome, str):
            raise RuntimeError(f"a measuring process failed: {outcome}")
        latencies.extend(outcome[0])
    return sample_from_latencies(sorted(latencies), max(outcome[1] for outcome in outcomes))


def _timed_process(
    factory: OperationFactory,
    args: tuple[Any, ...],
    threads: int,
    duration_s: float,
    barrier: Any,
    results: Any,
) -> None:
    close: Callable[[], None] | None = None
    try:
        operation, close = factory(*args, threads)
        timed_latencies(threads, 0.2, operation)  # the pool's connections, before the clock
        results.put(timed_latencies(threads, duration_s, operation, ready=barrier.wait))
    except BaseException as exc:
        barrier.abort()
        results.put(repr(exc))
        raise
    finally:
        if close is not None:
            close()


def sample_from_latencies(sorted_latencies_s: list[float], elapsed_s: float) -> Sample:
    def percentile(q: float) -> float:
        if not sorted_latencies_s:
            return 0.0
        index = min(len(sorted_latencies_s) - 1, round(q / 100 * (len(sorted_latencies_s) - 1)))
        return sorted_latencies_s[index] * 1000

    return Sample(
        requests=len(sorted_latencies_s),
        duration_s=elapsed_s,
        p50_ms=percentile(50),
        p90_ms=percentile(90),
        p99_ms=percentile(99),
        max_ms=percentile(100),
    )


SCENARIOS: dict[str, Scenario] = {}


S = TypeVar("S", HttpScenario, PythonScenario)


def register(scenario: S) -> S:
    if scenario.name in SCENARIOS:
        raise ValueError(f"two scenarios are named {scenario.name!r}")
    SCENARIOS[scenario.name] = scenario
    return scenario


class SetupError(RuntimeError):
    """A scenario's setup could not be done (e.g. a CLI command it needs does not exist yet)."""


@dataclass
class Context:
    """The running benchmark as a scenario's setup sees it."""

    database_url: str
    env: dict[str, str]  # the environment the servers run with (DATABASE_URL, KAFKA_...)
    workdir: Path  # the servers' working directory (their var/ keys live here)
    base_url: str = ""  # the service server that setups talk to ("" for Python scenarios)
    _demo_seeded: bool = False

    def cli(self, *args: str) -> str:
        """Run `coordination ARGS` with the servers' environment; return its standard output."""
        binary = Path(sys.executable).with_name("coordination")
        done = subprocess.run(
            [str(binary), *args],
            check=False,  # checked below, with the command's message
            cwd=self.workdir,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SetupError(f"coordination {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def seed_demo(self) -> None:
        """The example orgs of the contract (`coordination demo`), once per run."""
        if not self._demo_seeded:
            self.cli("demo")
            self._demo_seeded = True

    # -- authenticated requests (the hook for scenarios behind OAuth) --------------------------

    def create_client(self, org: str, scopes: str) -> tuple[str, str]:
        """`coordination clients create`: a new OAuth client of ORG; returns (id, secret)."""
        self.seed_demo()
        created = json.loads(self.cli("clients", "create", "--org", org, "--scopes", scopes))
        return created["client_id"], created["client_secret"]

    def access_token(self, client_id: str, client_secret: str, scopes: str | None = None) -> str:
        """A bearer token from POST /oauth/token (client_credentials, client_secret_basic)."""
        form = {"grant_type": "client_credentials"}
        if scopes:
            form["scope"] = scopes
        answer = requests.post(
            f"{self.base_url}/oauth/token",
            data=form,
            auth=(client_id, client_secret),
            timeout=10,
        )
        if answer.status_code != 200:
            raise SetupError(f"POST /oauth/token answered {answer.status_code}: {answer.text}")
        token: str = answer.json()["access_token"]
        return token

    def bearer(self, org: str, scopes: str) -> dict[str, str]:
        """Headers with a fresh token for a new client of ORG holding SCOPES."""
        client_id, secret = self.create_client(org, scopes)
        return {"Authorization": f"Bearer {self.access_token(client_id, secret, scopes)}"}
