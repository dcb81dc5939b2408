"""The service app with one trivial view mounted three ways, to measure what authentication
costs (bench/scenarios/auth.py). Not part of the product: only bench/run serves it.

- GET /bench/ping         no token;
- GET /bench/ping-authed  the same view behind `@authorize` (token verified, revocation and
                          disabled-client check, actor built);
- GET /v1/bench/ping      the same under /v1, as every API request: plus the per-client
                          token bucket and the access record written to the outbox.

    python -m bench.auth_app --server granian --port 8002 --workers 2 --threads 8
"""

import argparse

from flask import Blueprint, Flask, jsonify
from flask.typing import ResponseReturnValue

from coordination.app import serve_app
from coordination.auth.guard import authorize
from coordination.config import Settings
from coordination.serving import DEFAULT_SERVER, SERVERS, run_server


def trivial() -> ResponseReturnValue:
    return jsonify(status="ok")


def blueprints() -> list[Blueprint]:
    open_bp = Blueprint("bench_open", __name__, url_prefix="/bench")
    open_bp.add_url_rule("/ping", "ping", trivial)
    open_bp.add_url_rule("/ping-authed", "ping_authed", authorize("bench.ping")(trivial))
    v1_bp = Blueprint("bench_v1", __name__, url_prefix="/v1/bench")
    v1_bp.add_url_rule("/ping", "ping", authorize("bench.ping")(trivial))
    return [open_bp, v1_bp]


def create_app() -> Flask:
    app = serve_app()
    for bp in blueprints():
        app.register_blueprint(bp)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--server", choices=SERVERS, default=DEFAULT_SERVER)
    args = parser.parse_args()
    run_server(
        Settings.from_env(),
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        server=args.server,
        app_factory="bench.auth_app:create_app",
        background=[],  # no relay or consumers: only the request path is measured
    )


if __name__ == "__main__":
    main()
