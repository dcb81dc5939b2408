"""One JSON line per request: ids, route template, status, timing. Never a body or query value."""

import json
import logging
import re
import sys
from time import perf_counter

from flask import Flask, Response, g, request

from coordination.http.metrics import route_template
from services.ids import new_id

log = logging.getLogger("coordination.access")

# A client-chosen request id is echoed and logged, so it must not be able to smuggle data in.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, separators=(",", ":"))


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def request_id() -> str:
    return str(g.get("request_id") or "")


def init_app(app: Flask) -> None:
    @app.before_request
    def _assign_request_id() -> None:
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if REQUEST_ID.match(given) else new_id()
        g.log_started = perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        response.headers["X-Request-Id"] = request_id()
        actor = g.get("actor")
        fields = {
            "request_id": request_id(),
            "method": request.method,
            "route": route_template(),
            "status": response.status_code,
            "duration_ms": round((perf_counter() - g.get("log_started", 0.0)) * 1000, 2),
            "org": actor.org if actor else None,
            "client_id": actor.client_id if actor else None,
        }
        log.info("request", extra={"fields": fields})
        return response
