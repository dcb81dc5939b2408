"""The hash index across real worker processes (issue 7): `coordination serve`'s server with two
sync workers (one request at a time each, so requests spread over both) on the test database.
A hash registered through the server matches from the next request on whichever worker answers,
and the hashes of a case closed through the server stop matching on both."""

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from coordination.config import Settings
from events.broker import EmbeddedBroker
from tests.support.agencies import Agencies, Agency
from tests.support.monitoring import random_sha256
from tests.support.stream import wait_for

REQUESTS_PER_CHECK = 16  # each on a new connection, so the two workers share them

SERVE = (
    "from coordination.config import Settings\n"
    "from coordination.serving import run_server\n"
    "run_server(Settings.from_env(), host='127.0.0.1', port={port}, workers=2, threads=1,"
    " server='sync', background=[])\n"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(settings: Settings, broker: EmbeddedBroker) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "COORDINATION_ISSUER": settings.issuer,
        "COORDINATION_SIGNING_KEY_FILE": str(settings.signing_key_file),
        "COORDINATION_DATA_KEY_FILE": str(settings.data_key_file),
        "COORDINATION_AUDIT_KEY_FILE": str(settings.audit_key_file),
        "COORDINATION_RATE_LIMIT_PER_S": "100000",
        "COORDINATION_RATE_LIMIT_BURST": "100000",
        "COORDINATION_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE.format(port=port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:  # not listening yet, or a worker still booting
            return False

    try:
        wait_for(up, timeout=60, what="the server")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def call(base: str, agency: Agency, method: str, path: str, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {agency.token}", "Connection": "close"}
    headers.update(kwargs.pop("headers", {}))
    return requests.request(method, base + path, headers=headers, timeout=30, **kwargs)


def matched_each_time(base: str, agency: Agency, sha256: str) -> list[bool]:
    """The same hit sent REQUESTS_PER_CHECK times, 4 at a time: with one request per worker
    at a time, both workers answer some of them."""

    def one(n: int) -> bool:
        response = call(
            base,
            agency,
            "POST",
            "/v1/content/matches",
            json={"sha256": sha256, "url": f"https://w.test/{n}", "platform": "w"},
        )
        assert response.status_code == 200, response.text
        return bool(response.json()["matched"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(REQUESTS_PER_CHECK)))


def test_workers_match_new_hash_at_once_and_forget_closed_case(
    server: str, agencies: Agencies
) -> None:
    center = agencies.new("support_center")
    # Both workers load their index before the item exists.
    assert matched_each_time(server, center, random_sha256()) == [False] * REQUESTS_PER_CHECK
    case = call(
        server,
        center,
        "POST",
        "/v1/cases",
        json={"harm_types": ["non_consensual_distribution"], "victim": {"age_band": "20s"}},
    )
    assert case.status_code == 201, case.text
    sha256 = random_sha256()
    item = call(
        server,
        center,
        "POST",
        f"/v1/cases/{case.json()['id']}/content",
        json={
            "kind": "video",
            "sha256": sha256,
            "involves_minor": False,
        },
    )
    assert item.status_code == 201, item.text

    assert matched_each_time(server, center, sha256) == [True] * REQUESTS_PER_CHECK

    closed = call(
        server,
        center,
        "PATCH",
        f"/v1/cases/{case.json()['id']}",
        json={"status": "closed"},
        headers={"If-Match": case.headers["ETag"]},
    )
    assert closed.status_code == 200, closed.text
    assert matched_each_time(server, center, sha256) == [False] * REQUESTS_PER_CHECK
