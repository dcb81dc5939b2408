"""The resource side with routed views: scopes (all of them), the actor, the per-client limit."""

import dataclasses
from collections.abc import Iterator

import pytest
from flask import Blueprint, Flask, jsonify
from flask.typing import ResponseReturnValue

from coordination.app import create_app
from coordination.auth.guard import authorize, current_actor
from coordination.config import Settings
from coordination.runtime import runtime
from tests.support.agencies import Agencies
from tests.support.backends import terminate_backends

PROBLEM = "application/problem+json"


def probe_blueprint() -> Blueprint:
    bp = Blueprint("oauth_probe", __name__, url_prefix="/v1/probe")

    @bp.get("/one")
    @authorize("probe.one", "cases.read")
    def one() -> ResponseReturnValue:
        actor = current_actor()
        return jsonify(
            org=actor.org,
            org_kind=actor.org_kind,
            client_id=actor.client_id,
            scopes=sorted(actor.scopes),
            token_id=actor.token_id,
        )

    @bp.post("/both")
    @authorize("probe.both", "cases.read", "pii.read")
    def both() -> ResponseReturnValue:
        return jsonify(ok=True)

    return bp


def probe_app(settings: Settings) -> Flask:
    app = create_app(settings)
    app.register_blueprint(probe_blueprint())
    return app


@pytest.fixture(scope="module")
def app_with_probe(settings: Settings) -> Iterator[Flask]:
    app = probe_app(settings)
    yield app
    runtime(app).engine.dispose()


@pytest.fixture
def probe_agencies(app_with_probe: Flask) -> Agencies:
    return Agencies(app_with_probe.test_client(), runtime(app_with_probe))


def test_view_gets_the_actor_of_the_token(probe_agencies: Agencies) -> None:
    police = probe_agencies.new("police", scopes="cases.read referrals.read")
    response = police.get("/v1/probe/one")
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["org"] == police.org
    assert response.json["org_kind"] == "police"
    assert response.json["client_id"] == police.client_id
    assert response.json["scopes"] == ["cases.read", "referrals.read"]
    assert response.json["token_id"]


def test_missing_scope_is_403_insufficient_scope(probe_agencies: Agencies) -> None:
    police = probe_agencies.new("police", scopes="referrals.read")
    response = police.get("/v1/probe/one")
    assert response.status_code == 403
    assert response.content_type == PROBLEM
    assert response.json is not None
    assert response.json["type"] == "/problems/insufficient-scope"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="cases.read"' in challenge


def test_operation_needs_all_of_its_scopes_not_any(probe_agencies: Agencies) -> None:
    center = probe_agencies.new("support_center")
    assert center.post("/v1/probe/both").status_code == 200
    for only in ("cases.read", "pii.read"):
        narrow = center.new_token(scopes=only)
        response = center.post("/v1/probe/both", headers={"Authorization": f"Bearer {narrow}"})
        assert response.status_code == 403, only
        assert 'scope="cases.read pii.read"' in response.headers["WWW-Authenticate"]


def test_narrowed_token_holds_only_what_it_asked_for(probe_agencies: Agencies) -> None:
    center = probe_agencies.new("support_center")
    narrow = center.new_token(scopes="referrals.read")
    response = center.get("/v1/probe/one", headers={"Authorization": f"Bearer {narrow}"})
    assert response.status_code == 403


def test_scope_check_comes_after_the_token_check(probe_agencies: Agencies) -> None:
    police = probe_agencies.new("police", scopes="referrals.read")
    response = police.get("/v1/probe/one", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401


def test_unknown_v1_path_is_401_without_a_token_and_404_with_one(
    app_with_probe: Flask, probe_agencies: Agencies
) -> None:
    client = app_with_probe.test_client()
    assert client.get("/v1/no-such-thing").status_code == 401
    police = probe_agencies.new("police")
    assert police.get("/v1/no-such-thing").status_code == 404


def test_paths_outside_v1_need_no_token(app_with_probe: Flask) -> None:
    client = app_with_probe.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/.well-known/jwks.json").status_code == 200


# -- the per-client rate limit ----------------------------------------------------------------


@pytest.fixture
def limited_app(settings: Settings) -> Iterator[Flask]:
    app = probe_app(dataclasses.replace(settings, rate_limit_per_s=0.5, rate_limit_burst=3))
    yield app
    runtime(app).engine.dispose()


def test_client_over_its_rate_limit_gets_429_with_retry_after(limited_app: Flask) -> None:
    agencies = Agencies(limited_app.test_client(), runtime(limited_app))
    police = agencies.new("police")
    statuses = [police.get("/v1/probe/one").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = police.get("/v1/probe/one")
    assert limited.status_code == 429
    assert limited.content_type == PROBLEM
    assert limited.json is not None
    assert limited.json["status"] == 429
    assert int(limited.headers["Retry-After"]) >= 1


def test_rate_limit_is_per_client(limited_app: Flask) -> None:
    agencies = Agencies(limited_app.test_client(), runtime(limited_app))
    busy = agencies.new("police")
    calm = agencies.client_of(busy.org, "police")  # same org, another client
    for _ in range(4):
        busy.get("/v1/probe/one")
    assert busy.get("/v1/probe/one").status_code == 429
    assert calm.get("/v1/probe/one").status_code == 200


def test_default_rate_limit_is_sensible() -> None:
    defaults = Settings.from_env({})
    assert 10 <= defaults.rate_limit_per_s <= 1000
    assert defaults.rate_limit_burst >= defaults.rate_limit_per_s


# -- connections dropped by the database server (PostgreSQL) --------------------------------


def test_guard_survives_its_database_connections_being_dropped(
    app_with_probe: Flask, probe_agencies: Agencies, settings: Settings
) -> None:
    """Every idle connection of the database is terminated, the refusals listener's included:
    the next request is still answered (from the database until the listener is back)."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("connections dropped by a database server")
    police = probe_agencies.new("police")
    assert police.get("/v1/probe/one").status_code == 200
    assert terminate_backends(runtime(app_with_probe).engine, "state = 'idle'") >= 1
    assert police.get("/v1/probe/one").status_code == 200
