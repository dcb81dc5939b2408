"""The application factory."""

from flask import Flask

from coordination.config import Settings
from coordination import api
from coordination.http import basics, body, errors, metrics, request_log
from coordination.runtime import EXTENSION, Runtime
from services.clock import Clock


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = Runtime.build(settings, clock)

    errors.init_app(app)
    request_log.init_app(app)
    metrics.init_app(app)
    body.init_app(app)
    basics.init_app(app)
    api.init_app(app)
    return app
