"""The operational surface and the error shape every client relies on."""

import json

from flask.testing import FlaskClient

from coordination.app import create_app
from coordination.config import Settings

PROBLEM = "application/problem+json"


def test_healthz_answers_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_answers_ready_when_the_database_is_reachable(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready"}


def test_metrics_count_requests_by_route_template(client: FlaskClient) -> None:
    client.get("/healthz")
    body = client.get("/metrics").get_data(as_text=True)
    assert 'coordination_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert "coordination_http_request_duration_seconds_bucket" in body


def test_openapi_file_is_served(client: FlaskClient) -> None:
    response = client.get("/openapi.yaml")
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("openapi: 3.1")


def test_docs_page_uses_only_local_assets(client: FlaskClient) -> None:
    page = client.get("/docs").get_data(as_text=True)
    assert "http://" not in page
    assert "https://" not in page
    for asset in ("/docs/assets/swagger-ui.css", "/docs/assets/swagger-ui-bundle.js"):
        assert asset in page
        response = client.get(asset)
        assert response.status_code == 200
        response.close()


def test_unknown_route_is_a_404_problem(client: FlaskClient) -> None:
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.content_type == PROBLEM
    assert set(response.json) >= {"type", "title", "status", "detail"}


def test_wrong_method_is_a_405_problem_with_allow(client: FlaskClient) -> None:
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert response.content_type == PROBLEM
    assert "GET" in response.headers["Allow"]


def test_non_json_body_is_a_415_problem(client: FlaskClient) -> None:
    response = client.post("/v1/cases", data="name=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.content_type == PROBLEM


def test_body_over_one_mebibyte_is_a_413_problem(client: FlaskClient) -> None:
    body = json.dumps({"note": "x" * (1024 * 1024)})
    response = client.post("/v1/cases", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.content_type == PROBLEM


def test_unexpected_error_is_a_500_problem_without_internals(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/_boom_for_test")
    def boom() -> str:
        raise RuntimeError("secret internal detail at /srv/app.py line 12")

    response = app.test_client().get("/_boom_for_test")
    assert response.status_code == 500
    assert response.content_type == PROBLEM
    assert "secret" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_request_id_is_echoed_when_well_formed(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"


def test_request_id_is_replaced_when_it_could_smuggle_data(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": "name=Kim Ji-woo"})
    assert response.headers["X-Request-Id"] != "name=Kim Ji-woo"
    assert len(response.headers["X-Request-Id"]) == 36
