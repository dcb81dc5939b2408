"""Liveness, readiness, the contract and its documentation page."""

from collections.abc import Callable
from pathlib import Path

import swagger_ui_bundle
from flask import Blueprint, Flask, Response, current_app, send_from_directory
from sqlalchemy import text

from coordination.http.problems import problem
from coordination.runtime import runtime

OPENAPI_FILE = Path(__file__).resolve().parents[2] / "openapi.yaml"
READINESS = "coordination.readiness"

ReadinessCheck = Callable[[], str | None]  # None when ready, else a short reason

bp = Blueprint("basics", __name__)


def add_readiness_check(app: Flask, check: ReadinessCheck) -> None:
    app.extensions.setdefault(READINESS, []).append(check)


def database_ready() -> str | None:
    try:
        with runtime().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return "database not reachable"
    return None


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> Response | dict[str, str]:
    failures = [reason for check in current_app.extensions[READINESS] if (reason := check())]
    if failures:
        return problem(503, "; ".join(failures), slug="not-ready", headers={"Retry-After": "5"})
    return {"status": "ready"}


@bp.get("/openapi.yaml")
def openapi() -> Response:
    return Response(OPENAPI_FILE.read_bytes(), mimetype="application/yaml")


@bp.get("/docs")
def docs() -> Response:
    return Response(DOCS_PAGE, mimetype="text/html")


@bp.get("/docs/assets/<path:name>")
def docs_asset(name: str) -> Response:
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, name)


DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Coordination API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "/openapi.yaml", dom_id: "#docs", deepLinking: true});
  </script>
</body>
</html>
"""


def init_app(app: Flask) -> None:
    add_readiness_check(app, database_ready)
    app.register_blueprint(bp)
