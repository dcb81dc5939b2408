"""The application factory."""

from flask import Flask

from coordination import api, auth
from coordination.api.monitoring.routes import warm_hash_index
from coordination.config import Settings
from coordination.http import (
    access_records,
    basics,
    body,
    errors,
    metrics,
    request_log,
    stream,
    transaction,
)
from coordination.long_running import freeze_startup_heap
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
    auth.init_app(app)
    api.init_app(app)
    access_records.init_app(app)
    transaction.init_app(app)
    stream.init_app(app)
    return app


def serve_app() -> Flask:
    """The app as a server worker runs it: settings from the environment, JSON logs to stderr."""
    settings = Settings.from_env()
    request_log.configure_logging(settings.log_level)
    app = create_app(settings)
    warm_hash_index(app)  # the known hashes load now, not on the worker's first match
    freeze_startup_heap()
    return app
