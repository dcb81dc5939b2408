"""The benchmark driver behind bench/run: start the service as production does, load it, report.

    bench/run [SCENARIO ...]      no names: every scenario (the baseline always runs)
    bench/run --list

One run: a fresh PostgreSQL database (created, migrated with `coordination db upgrade`,
dropped after), an embedded broker that KAFKA_BOOTSTRAP_SERVERS points at, and for each WSGI
server in turn the service (`coordination serve --server S`) next to the baseline app
(bench/baseline_app.py) with the same server settings (a scenario with `background=False` gets
a service of its own, `serve --no-background`: an API node). Each measurement is repeated and the
median kept; repeats of all the scenarios on one server are interleaved, so a noisy moment on
the machine hits them alike, and so are those of the Python scenarios (a ceiling measured without
HTTP), with the HTTP repeats on the default server. Results: a table on stdout and
bench/results.json.

Settings (environment):
    BENCH_QUICK=1              short runs (1 x 3 s, 1 s warm-up): the whole run in under a minute
    BENCH_DURATION=10          seconds per measurement
    BENCH_REPEATS=3            measurements per figure (the median is reported)
    BENCH_WARMUP=2             seconds of unmeasured load before the first measurement
    BENCH_SERVERS=gthread,sync,granian   the servers compared on the compare_servers scenarios
    BENCH_SERVER=gthread       the server every other scenario runs on (default: serve's default)
    BENCH_WORKERS=2 BENCH_THREADS=8       server processes, and threads per process
    BENCH_CONNECTIONS=16       overrides every HTTP scenario's connection counts (comma list)
    BENCH_WRK_THREADS=1        wrk threads (the load generator shares the machine's cores)
    BENCH_POSTGRES_ADMIN_URL=postgresql://postgres@127.0.0.1:5432/postgres
    BENCH_RESULTS=bench/results.json
    BENCH_KEEP=1               keep bench/work/<run>/ (server logs) after a successful run
    BENCH_DATABASE=NAME        run on database NAME (created if missing, migrated) and keep it,
                               instead of a scratch one: the stats scenarios then load their
                               11M rows once and reuse them in every later run
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any, cast

import psycopg

from bench import wrk
from bench.scenario import (
    REPO,
    Context,
    HttpScenario,
    Prepared,
    PythonScenario,
    Sample,
    Scenario,
    SetupError,
)
from bench.scenarios import load_all
from coordination.serving import DEFAULT_SERVER, SERVERS
from events.broker import EmbeddedBroker, free_port

BASELINE = "baseline"
READY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Config:
    duration_s: float
    repeats: int
    warmup_s: float
    servers: tuple[str, ...]
    server: str
    workers: int
    threads: int
    wrk_threads: int
    connections: tuple[int, ...] | None
    admin_url: str
    results: Path
    keep: bool
    database: str  # "" for a scratch database

    @classmethod
    def from_env(cls) -> "Config":
        env = os.environ
        quick = env.get("BENCH_QUICK", "") not in ("", "0")
        servers = tuple(s for s in env.get("BENCH_SERVERS", ",".join(SERVERS)).split(",") if s)
        server = env.get("BENCH_SERVER", DEFAULT_SERVER)
        for name in (*servers, server):
            if name not in SERVERS:
                raise SystemExit(f"bench: unknown server {name!r}, expected one of {SERVERS}")
        if (
            "granian" in servers
            and shutil.which("granian", path=Path(sys.executable).parent) is None
        ):
            print("bench: granian is not installed, leaving it out", file=sys.stderr)
            servers = tuple(s for s in servers if s != "granian")
        connections = env.get("BENCH_CONNECTIONS")
        return cls(
            duration_s=float(env.get("BENCH_DURATION", 3 if quick else 10)),
            repeats=int(env.get("BENCH_REPEATS", 1 if quick else 3)),
            warmup_s=float(env.get("BENCH_WARMUP", 1 if quick else 2)),
            servers=servers,
            server=server,
            workers=int(env.get("BENCH_WORKERS", 2)),
            threads=int(env.get("BENCH_THREADS", 8)),
            wrk_threads=int(env.get("BENCH_WRK_THREADS", 1)),
            connections=tuple(int(c) for c in connections.split(",")) if connections else None,
            admin_url=env.get(
                "BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
            ),
            results=Path(env.get("BENCH_RESULTS", REPO / "bench" / "results.json")),
            keep=env.get("BENCH_KEEP", "") not in ("", "0"),
            database=env.get("BENCH_DATABASE", ""),
        )

    def connections_of(self, scenario: HttpScenario) -> tuple[int, ...]:
        return self.connections or scenario.connections

    def servers_of(self, scenario: HttpScenario) -> tuple[str, ...]:
        if not scenario.compare_servers:
            return (self.server,)
        return (self.server, *(s for s in self.servers if s != self.server))


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# -- infrastructure: database, server processes ---------------------------------------------


@contextmanager
def scratch_database(admin_url: str, kept: str = "") -> Iterator[str]:
    if kept:  # BENCH_DATABASE: created the first time, never dropped
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            found = admin.execute("SELECT FROM pg_database WHERE datname = %s", (kept,))
            if found.fetchone() is None:
                admin.execute(f'CREATE DATABASE "{kept}"')
        yield admin_url.rsplit("/", 1)[0] + "/" + kept
        return
    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


#: Which server process an HTTP scenario runs against: its app, and for the service whether
#: its background workers run (`serve` as is) or not (`serve --no-background`, an API node).
ProcessKey = tuple[str, bool]


def process_key(scenario: HttpScenario) -> ProcessKey:
    return (scenario.app, scenario.background or scenario.app != "service")


class ServerProcess:
    """One server (the service or the baseline app) in its own process group."""

    def __init__(self, key: ProcessKey, server: str, config: Config, context: Context) -> None:
        app, background = key
        self.app = app if background else f"{app}-no-background"
        self.server = server
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        options = ["--server", server, "--port", str(self.port)]
        options += ["--workers", str(config.workers), "--threads", str(config.threads)]
        if app == "service":
            command = [str(Path(sys.executable).with_name("coordination")), "serve", *options]
            command += [] if background else ["--no-background"]
            self.ready_path = "/readyz"
        else:
            command = [sys.executable, "-m", "bench.baseline_app", *options]
            self.ready_path = "/baseline"
        self.log_path = context.workdir / f"{server}-{self.app}.log"
        self.log: IO[bytes] = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=context.workdir,
            env={**os.environ, **context.env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopped as a whole, spared our Ctrl-C
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.server} {self.app} exited: see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base_url + self.ready_path, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.server} {self.app} not ready: see {self.log_path}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class Figure:
    """The repeated measurements of one scenario on one server at one concurrency."""

    scenario: Scenario
    server: str | None
    connections: int
    samples: list[Sample]


def run_http_on_server(
    server: str,
    scenarios: list[tuple[HttpScenario, tuple[int, ...]]],
    config: Config,
    context: Context,
    prepared: dict[str, Prepared],
    skipped: dict[str, str],
    between: list[Figure] | None = None,
) -> list[Figure]:
    """The HTTP scenarios on SERVER; each repeat also takes one of each figure of BETWEEN (the
    Python scenarios, with no server)."""
    between = between or []
    keys = sorted({process_key(s) for s, _ in scenarios})
    with ExitStack() as stack:
        processes: dict[ProcessKey, ServerProcess] = {}
        for key in keys:
            process = ServerProcess(key, server, config, context)
            stack.callback(process.stop)
            processes[key] = process
        for process in processes.values():
            process.wait_ready()
        progress(f"{server}: {', '.join(p.app for p in processes.values())} ready")
        if ("service", True) in processes:
            context.base_url = processes[("service", True)].base_url
        runnable: list[tuple[HttpScenario, int, Path]] = []
        for scenario, counts in scenarios:
            if scenario.name in skipped:
                continue
            if scenario.app == "service":  # its setup talks to the server it is measured on
                context.base_url = processes[process_key(scenario)].base_url
            if scenario.name not in prepared:
                try:
                    prepared[scenario.name] = (
                        scenario.setup(context) if scenario.setup else Prepared()
                    )
                except SetupError as exc:
                    skipped[scenario.name] = str(exc)
                    progress(f"{scenario.name}: skipped, setup failed: {exc}")
                    continue
            lua_file = context.workdir / f"{scenario.name}.lua"
            lua_file.write_text(wrk.script(scenario, prepared[scenario.name]))
            runnable += [(scenario, connections, lua_file) for connections in counts]

        def load(scenario: HttpScenario, connections: int, lua: Path, seconds: float) -> Sample:
            url = processes[process_key(scenario)].base_url + scenario.path
            return wrk.run(
                url,
                lua,
                connections=connections,
                duration_s=seconds,
                threads=config.wrk_threads,
            )

        for scenario, connections, lua in runnable:
            load(scenario, connections, lua, config.warmup_s)
        for figure in between:
            python_sample(figure, context, config.warmup_s)
        figures = [Figure(s, server, c, []) for s, c, _ in runnable]
        for repeat in range(config.repeats):
            for figure, (scenario, connections, lua) in zip(figures, runnable, strict=True):
                sample = load(scenario, connections, lua, config.duration_s)
                figure.samples.append(sample)
                progress(
                    f"{server} {scenario.name} c{connections} run {repeat + 1}/{config.repeats}:"
                    f" {sample.requests_per_s:.0f} req/s, p50 {sample.p50_ms:.2f} ms,"
                    f" p99 {sample.p99_ms:.2f} ms"
                    + (f", {sample.errors} errors" if sample.errors else "")
                    + (f", {sample.non_2xx} non-2xx" if sample.non_2xx else "")
                )
            for figure in between:
                sample = python_sample(figure, context, config.duration_s)
                figure.samples.append(sample)
                progress(
                    f"{figure.scenario.name} {figure.connections} threads run"
                    f" {repeat + 1}/{config.repeats}: {sample.requests_per_s:.0f}"
                    f" {cast(PythonScenario, figure.scenario).unit}/s,"
                    f" p50 {sample.p50_ms:.2f} ms, p99 {sample.p99_ms:.2f} ms"
                )
        return figures + between


def python_sample(figure: Figure, context: Context, seconds: float) -> Sample:
    """One measurement of a Python scenario's figure (its `connections` are threads)."""
    return cast(PythonScenario, figure.scenario).run(context, figure.connections, seconds)


# -- reporting ----------------------------------------------------------------------------------


def row(figure: Figure, config: Config, extra: dict[str, Any]) -> dict[str, Any]:
    samples = figure.samples
    scenario = figure.scenario
    rates = [s.requests_per_s for s in samples]
    result: dict[str, Any] = {
        "scenario": scenario.name,
        "server": figure.server,
        "connections": figure.connections,
        "requests_per_s": round(statistics.median(rates), 1),
        "p50_ms": round(statistics.median(s.p50_ms for s in samples), 3),
        "p90_ms": round(statistics.median(s.p90_ms for s in samples), 3),
        "p99_ms": round(statistics.median(s.p99_ms for s in samples), 3),
        "max_ms": round(max(s.max_ms for s in samples), 3),
        "ratio_to_baseline": None,
        "repeats": len(samples),
        "duration_s": config.duration_s,
        "requests_per_s_runs": [round(r, 1) for r in rates],
        "errors": sum(s.errors for s in samples),
        "non_2xx": sum(s.non_2xx for s in samples),
    }
    if isinstance(scenario, HttpScenario):
        result |= {
            "kind": "http",
            "app": scenario.app,
            "background": scenario.background if scenario.app == "service" else None,
            "request": f"{scenario.method} {scenario.path}",
            "workers": config.workers,
            "threads": config.threads,
            "wrk_threads": config.wrk_threads,
        }
    else:
        result |= {"kind": "python", "threads": figure.connections, "unit": scenario.unit}
        if scenario.unit != "requests":
            result[f"{scenario.unit}_per_s"] = result["requests_per_s"]
    result |= extra
    result["cpus"] = os.cpu_count()
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def add_ratios(rows: list[dict[str, Any]], config: Config) -> None:
    """Each figure over the baseline's: same server and connections for HTTP rows; the chosen
    server's baseline (its first connection count) for the rows without HTTP."""
    baselines = {(r["server"], r["connections"]): r for r in rows if r["scenario"] == BASELINE}
    reference = next(
        (r for r in rows if r["scenario"] == BASELINE and r["server"] == config.server), None
    )
    for r in rows:
        base = baselines.get((r["server"], r["connections"])) if r["kind"] == "http" else reference
        if base and base["requests_per_s"]:
            r["ratio_to_baseline"] = round(r["requests_per_s"] / base["requests_per_s"], 3)
            r["compared_with"] = f"baseline/{base['server']}/c{base['connections']}"


def table(rows: list[dict[str, Any]]) -> str:
    head = ("scenario", "server", "conns", "req/s", "p50 ms", "p99 ms", "vs baseline", "notes")
    lines = [head]
    for r in rows:
        notes = []
        if r["kind"] == "python":
            notes.append(f"{r['unit']}/s, {r['threads']} threads")
        if r["errors"]:
            notes.append(f"{r['errors']} socket errors")
        if r["non_2xx"]:
            notes.append(f"{r['non_2xx']} non-2xx")
        ratio = r["ratio_to_baseline"]
        lines.append(
            (
                r["scenario"],
                r["server"] or "-",
                str(r["connections"]),
                f"{r['requests_per_s']:.0f}",
                f"{r['p50_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                f"{ratio:.2f}" if ratio is not None else "-",
                "; ".join(notes),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for n, line in enumerate(lines):
        cells = [
            c.ljust(w) if i in (0, 1, 7) else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def merge_results(path: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """This run's rows, then the earlier rows of scenarios this run did not measure (so
    `bench/run stats` keeps the server comparison that a full run wrote)."""
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        earlier = []
    measured = {r["scenario"] for r in rows}
    return rows + [r for r in earlier if isinstance(r, dict) and r.get("scenario") not in measured]


# -- the run --------------------------------------------------------------------------------


def select(names: list[str], registry: dict[str, Scenario]) -> list[Scenario]:
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise SystemExit(
            f"bench: unknown scenario(s) {', '.join(unknown)}; known: {', '.join(registry)}"
        )
    chosen = [registry[n] for n in (names or registry)]
    if BASELINE not in {s.name for s in chosen}:
        chosen.insert(0, registry[BASELINE])  # every run carries its own ceiling
    # The baseline first: it is the reference the others are read against.
    return sorted(chosen, key=lambda s: s.name != BASELINE)


def measure(
    scenarios: list[Scenario], config: Config
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    http = [s for s in scenarios if isinstance(s, HttpScenario)]
    python = [s for s in scenarios if isinstance(s, PythonScenario)]
    baseline = next(s for s in http if s.name == BASELINE)
    workdir = REPO / "bench" / "work" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    workdir.mkdir(parents=True, exist_ok=True)
    figures: list[Figure] = []
    extras: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    with ExitStack() as stack:
        database_url = stack.enter_context(scratch_database(config.admin_url, config.database))
        progress(f"database {database_url.rsplit('/', 1)[1]}")
        broker = stack.enter_context(EmbeddedBroker())
        context = Context(
            database_url=database_url,
            env={
                "DATABASE_URL": database_url,
                "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                "PYTHONPATH": str(REPO),  # for bench.baseline_app in the server processes
            },
            workdir=workdir,
        )
        context.cli("db", "upgrade")
        progress("database migrated; embedded broker at " + broker.bootstrap_servers)

        plan: dict[str, list[HttpScenario]] = {}
        for scenario in http:
            for server in config.servers_of(scenario):
                plan.setdefault(server, []).append(scenario)
        between: list[Figure] = []
        for pscenario in python:
            try:
                extras[pscenario.name] = pscenario.setup(context) if pscenario.setup else {}
            except SetupError as exc:
                skipped[pscenario.name] = str(exc)
                progress(f"{pscenario.name}: skipped, setup failed: {exc}")
                continue
            between += [Figure(pscenario, None, t, []) for t in pscenario.threads]
        prepared: dict[str, Prepared] = {}
        for server, on_server in plan.items():
            # The baseline at every connection count measured on this server, so each figure
            # has its ceiling taken on the same server at the same concurrency.
            counts = {s.name: config.connections_of(s) for s in on_server}
            counts[BASELINE] = tuple(sorted({c for cs in counts.values() for c in cs}))
            ordered = [baseline, *(s for s in on_server if s is not baseline)]
            figures += run_http_on_server(
                server,
                [(s, counts[s.name]) for s in ordered],
                config,
                context,
                prepared,
                skipped,
                between if server == config.server else None,
            )
        for name, ready in prepared.items():
            extras[name] = ready.fields
    if not config.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = [row(f, config, extras.get(f.scenario.name, {})) for f in figures]
    add_ratios(rows, config)
    return rows, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args(argv)
    registry = load_all()
    if args.list:
        for scenario in registry.values():
            print(f"{scenario.name:16} {scenario.summary}")
        return 0
    config = Config.from_env()
    chosen = select(args.scenarios, registry)
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is not installed (Debian: apt-get install wrk)")

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # unwinds through the cleanups: servers, broker, database

    signal.signal(signal.SIGTERM, stop)
    progress(
        f"{', '.join(s.name for s in chosen)}: {config.repeats} x {config.duration_s:g} s each;"
        f" servers {', '.join(config.servers)} (others on {config.server}),"
        f" {config.workers} workers x {config.threads} threads; wrk {wrk.version()}"
    )
    rows, skipped = measure(chosen, config)
    print(table(rows))
    config.results.write_text(json.dumps(merge_results(config.results, rows), indent=2) + "\n")
    progress(f"wrote {config.results}")
    for name, reason in skipped.items():
        progress(f"NOT MEASURED {name}: {reason}")
    return 1 if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
