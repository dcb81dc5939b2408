"""The request log: one JSON line per request, with no body and no query string value."""

import json
import logging

import pytest
from flask.testing import FlaskClient

from coordination.http.request_log import JsonFormatter


def test_request_log_is_one_json_line_without_query_values(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="coordination.access")
    client.get("/healthz?name=Kim+Ji-woo&phone=010-1234-5678", headers={"X-Request-Id": "r-1"})
    records = [r for r in caplog.records if r.name == "coordination.access"]
    assert len(records) == 1
    line = JsonFormatter().format(records[0])
    assert "\n" not in line
    fields = json.loads(line)
    assert fields["request_id"] == "r-1"
    assert fields["method"] == "GET"
    assert fields["route"] == "/healthz"
    assert fields["status"] == 200
    assert fields["duration_ms"] >= 0
    assert "Kim" not in line
    assert "010-1234" not in line
