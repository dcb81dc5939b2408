"""Driving `wrk`: the Lua script for a scenario, and its `done()` report as JSON."""

import json
import re
import subprocess
from pathlib import Path

from bench.scenario import HttpScenario, Prepared, Sample

MARK = "BENCH_JSON "

# wrk calls done() once at the end; latencies are in microseconds. One JSON line, so parsing
# does not depend on wrk's human-readable output.
REPORTER = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"max_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def lua_string(value: str) -> str:
    """A Lua long-bracket string literal holding VALUE verbatim."""
    level = 0
    while f"]{'=' * level}]" in value:
        level += 1
    return f"[{'=' * level}[{value}]{'=' * level}]"


def script(scenario: HttpScenario, prepared: Prepared) -> str:
    lines = [f"wrk.method = {lua_string(scenario.method)}"]
    if scenario.json_body is not None:
        lines.append(f"wrk.body = {lua_string(json.dumps(scenario.json_body))}")
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    for name, value in prepared.headers.items():
        lines.append(f"wrk.headers[ {lua_string(name)} ] = {lua_string(value)}")  # "[ [[" not "[[["
    return "\n".join([*lines, prepared.lua, scenario.lua, REPORTER])


def run(
    url: str,
    lua_file: Path,
    *,
    connections: int,
    duration_s: float,
    threads: int,
    timeout_s: float = 5.0,
) -> Sample:
    command = [
        "wrk",
        f"-t{max(1, min(threads, connections))}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        f"--timeout={timeout_s:g}s",
        "-s",
        str(lua_file),
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    report = next((ln for ln in done.stdout.splitlines() if ln.startswith(MARK)), None)
    if done.returncode != 0 or report is None:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout}")
    figures = json.loads(report.removeprefix(MARK))
    return Sample(
        requests=figures["requests"],
        duration_s=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p90_ms=figures["p90_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        errors=sum(figures[k] for k in ("connect", "read", "write", "timeout")),
        non_2xx=figures["status"],
    )


def version() -> str:
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    found = re.search(r"wrk (\S+)", done.stdout + done.stderr)
    return found.group(1) if found else "unknown"
