"""The baseline: a trivial JSON endpoint, served by the same server with the same settings.

It is a bare Flask app (no request log, metrics, request ids, database), so
`service figure / baseline figure` is what the service's own per-request work costs on top of
the WSGI server and Flask. Not part of the product: only bench/run serves it.

    python -m bench.baseline_app --server gthread --port 8001 --workers 2 --threads 8
"""

import argparse

from flask import Flask

from coordination.config import Settings
from coordination.serving import DEFAULT_SERVER, SERVERS, run_server

PATH = "/baseline"


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get(PATH)
    def baseline() -> dict[str, str]:
        return {"status": "ok"}

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
        Settings.from_env(),  # KAFKA_BOOTSTRAP_SERVERS set by bench/run: no second broker
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        server=args.server,
        app_factory="bench.baseline_app:create_app",
        background=[],  # a bare app: no relay or consumers competing with the measurement
    )


if __name__ == "__main__":
    main()
