"""Partner agencies for tests: a fresh org of a kind, an OAuth client, a token, and an HTTP
client that sends it. Each agency gets a random org id, so tests never collide.

    police = agencies.new("police")
    response = police.get("/v1/referrals")
    auditor = agencies.new("auditor", scopes="stats.read")
"""

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from coordination.runtime import Runtime
from services.clients.commands import CreateClient
from services.clients.handlers import create_client
from services.orgs.commands import CreateOrg
from services.orgs.handlers import create_org
from tests.support.contract import check_response


def basic_auth(client_id: str, client_secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()


@dataclass
class Agency:
    org: str
    kind: str
    client_id: str
    client_secret: str
    token: str
    scope: str
    http: FlaskClient = field(repr=False)

    def request(
        self, method: str, path: str, *, check_contract: bool = True, **kwargs: Any
    ) -> TestResponse:
        """Sends the request with this agency's token (unless `headers` carry another
        Authorization) and checks the response against openapi.yaml when the operation is
        documented there (`check_contract=False` only for a test about the checker itself)."""
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        response = self.http.open(path, method=method, headers=headers, **kwargs)
        if check_contract:
            check_response(response)
        return response

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)

    def new_token(self, scopes: str | None = None) -> str:
        """Another token of this client (optionally narrower); `self.token` stays as it is."""
        return fetch_token(self.http, self.client_id, self.client_secret, scopes)


def fetch_token(http: FlaskClient, client_id: str, client_secret: str, scopes: str | None) -> str:
    form = {"grant_type": "client_credentials"}
    if scopes is not None:
        form["scope"] = scopes
    response = http.post(
        "/oauth/token", data=form, headers={"Authorization": basic_auth(client_id, client_secret)}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.json["access_token"])  # type: ignore[index]


class Agencies:
    def __init__(self, http: FlaskClient, rt: Runtime) -> None:
        self.http = http
        self.rt = rt

    def new(self, kind: str, scopes: str | None = None, *, name: str = "") -> Agency:
        """An org of `kind` with a client holding `scopes` (default: all its kind may hold)."""
        org_id = f"{kind.replace('_', '-')}-{secrets.token_hex(4)}"
        create_org(CreateOrg(org_id, kind, name or f"Test {kind} {org_id}"), self.rt.uow())
        return self.client_of(org_id, kind, scopes)

    def client_of(self, org_id: str, kind: str, scopes: str | None = None) -> Agency:
        """Another client of an existing org, with its own token."""
        issued = create_client(CreateClient(org_id, scopes), self.rt.uow())
        assert issued.client_secret is not None
        token = fetch_token(self.http, issued.client_id, issued.client_secret, None)
        return Agency(
            org=org_id,
            kind=kind,
            client_id=issued.client_id,
            client_secret=issued.client_secret,
            token=token,
            scope=issued.scope,
            http=self.http,
        )
