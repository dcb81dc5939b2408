"""What authentication costs (issue 3): one trivial view, with and without a bearer token, in
the same run, and the token endpoint's throughput.

The three `auth_*` figures call the SAME trivial view (`{"status": "ok"}`) of the real app
(`coordination.app.create_app`: request ids, JSON request log, metrics, problem handling) in
process, through Flask's WSGI test client, no HTTP: so the ratio between them is the work the
guard adds per request, undiluted by the server and the network (a conservative ratio).

- `auth_none`:  GET /bench/ping                 no token.
- `auth_token`: GET /bench/ping-authed          `@authorize`: the bearer token verified
                (ES256 signature, header and claims), the revocation/disabled check (one
                indexed query), the actor built.
- `auth_v1`:    GET /v1/bench/ping              the same under /v1: the guard as every API
                request meets it, plus the per-client token bucket and the access record that
                every /v1 request writes to the outbox (a database commit).

Target: `auth_token` at least 85 % of `auth_none`.

`token_endpoint` is over HTTP against the real server (`coordination serve`): POST /oauth/token,
client_credentials with client_secret_basic. Each request checks the secret's scrypt hash
(16 MiB, tens of ms of CPU by design), so this figure is tokens per second, bounded by cores.
"""

import base64
import dataclasses
import threading
from typing import Any

from flask import Blueprint, Flask, jsonify
from flask.testing import FlaskClient
from flask.typing import ResponseReturnValue

from bench.scenario import (
    Context,
    HttpScenario,
    Prepared,
    PythonScenario,
    Sample,
    SetupError,
    register,
    timed_threads,
)
from coordination.app import create_app
from coordination.auth.guard import authorize
from coordination.config import Settings
from coordination.runtime import runtime

ORG = "seoul-dsc"
SCOPES = "cases.read"
_lock = threading.Lock()
_prepared: dict[str, tuple[Flask, str]] = {}


def _trivial() -> ResponseReturnValue:
    return jsonify(status="ok")


def _blueprints() -> list[Blueprint]:
    open_bp = Blueprint("bench_open", __name__, url_prefix="/bench")
    open_bp.add_url_rule("/ping", "ping", _trivial)
    open_bp.add_url_rule("/ping-authed", "ping_authed", authorize("bench.ping")(_trivial))
    v1_bp = Blueprint("bench_v1", __name__, url_prefix="/v1/bench")
    v1_bp.add_url_rule("/ping", "ping", authorize("bench.ping")(_trivial))
    return [open_bp, v1_bp]


def prepared(context: Context) -> tuple[Flask, str]:
    """The in-process app (built once per run) and a live bearer token for it."""
    with _lock:
        if context.database_url in _prepared:
            return _prepared[context.database_url]
        keys = context.workdir / "bench-auth"
        settings = Settings.from_env(
            {
                **context.env,
                "COORDINATION_ISSUER": "http://127.0.0.1:8000",
                "COORDINATION_SIGNING_KEY_FILE": str(keys / "signing-keys.json"),
                "COORDINATION_DATA_KEY_FILE": str(keys / "data-key"),
                "COORDINATION_AUDIT_KEY_FILE": str(keys / "audit-key"),
            }
        )
        # The limiter still runs on /v1; it must not refuse a benchmark's single client.
        settings = dataclasses.replace(settings, rate_limit_per_s=1e9, rate_limit_burst=10**9)
        app = create_app(settings)
        for bp in _blueprints():
            app.register_blueprint(bp)
        client_id, secret = context.create_client(ORG, SCOPES)
        answer = app.test_client().post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": _basic(client_id, secret)},
        )
        if answer.status_code != 200 or answer.json is None:
            raise SetupError(f"POST /oauth/token answered {answer.status_code}")
        _prepared[context.database_url] = (app, str(answer.json["access_token"]))
        return _prepared[context.database_url]


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _runner(path: str, with_token: bool) -> Any:
    def run(context: Context, threads: int, duration_s: float) -> Sample:
        app, token = prepared(context)
        local = threading.local()
        headers = {"Authorization": f"Bearer {token}"} if with_token else {}

        def one() -> None:
            client: FlaskClient | None = getattr(local, "client", None)
            if client is None:
                client = local.client = app.test_client()
            response = client.get(path, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} answered {response.status_code}")

        return timed_threads(threads, duration_s, one)

    return run


def _setup(context: Context) -> dict[str, Any]:
    app, _ = prepared(context)
    return {"in_process": True, "database": runtime(app).engine.dialect.name}


for name, path, with_token, summary in (
    ("auth_none", "/bench/ping", False, "trivial view, no token (in process)"),
    ("auth_token", "/bench/ping-authed", True, "the same view behind @authorize (in process)"),
    ("auth_v1", "/v1/bench/ping", True, "the same view under /v1: guard, limiter, access record"),
):
    register(
        PythonScenario(
            name=name,
            summary=summary,
            run=_runner(path, with_token),
            setup=_setup,
            threads=(1, 4),
        )
    )


def _token_setup(context: Context) -> Prepared:
    client_id, secret = context.create_client(ORG, SCOPES)
    return Prepared(headers={"Authorization": _basic(client_id, secret)})


register(
    HttpScenario(
        name="token_endpoint",
        summary="POST /oauth/token, client_credentials with client_secret_basic (scrypt)",
        path="/oauth/token",
        method="POST",
        lua=(
            'wrk.body = "grant_type=client_credentials"\n'
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"'
        ),
        setup=_token_setup,
    )
)
