"""The resource side: every /v1 request carries a bearer access token this service issued.

`authorize(action, *scopes)` decorates each /v1 view. A before-request hook on the app verifies
the token of every /v1 request (unknown paths included), sets `g.actor`, applies the per-client
rate limit and checks the scopes the view declares; the decorator checks again, so a view is
protected even if it were mounted elsewhere.
"""

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

from flask import current_app, g, request

from coordination.auth.state import auth_state
from coordination.auth.tokens import InvalidToken
from coordination.http.errors import ApiError
from services.actor import Actor
from services.clients.scopes import allowed_scopes, format_scopes

P = ParamSpec("P")
R = TypeVar("R")

REALM = "coordination"
API_PREFIX = "/v1"
#: Attributes `authorize` leaves on a view, read by the hook (and by the scope-matrix test).
ACTION_ATTR = "required_action"
SCOPES_ATTR = "required_scopes"
_BEARER = re.compile(r"^Bearer +([A-Za-z0-9._~+/-]+=*) *$", re.IGNORECASE)


def authorize(action: str, *scopes: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Names the operation (for the audit trail) and the scopes it needs, all of them."""
    needed = frozenset(scopes)

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            g.action = action
            require_scopes(authenticate(), needed)
            return view(*args, **kwargs)

        guarded.__dict__[ACTION_ATTR] = action
        guarded.__dict__[SCOPES_ATTR] = needed
        return guarded

    return decorate


def current_actor() -> Actor:
    actor = g.get("actor")
    if not isinstance(actor, Actor):
        raise _unauthorized("this request carries no bearer access token")
    return actor


def protect_api() -> None:
    """Before every request: guards everything under /v1, routed or not."""
    path = request.path
    if path != API_PREFIX and not path.startswith(API_PREFIX + "/"):
        return
    view = current_app.view_functions.get(request.endpoint or "")
    declared: dict[str, Any] = getattr(view, "__dict__", {})
    if ACTION_ATTR in declared:
        g.action = declared[ACTION_ATTR]
    actor = authenticate()
    wait = auth_state().requests.take(actor.client_id)
    if wait:
        raise ApiError(
            429,
            "too many requests from this client; slow down",
            slug="too-many-requests",
            headers={"Retry-After": str(wait)},
        )
    require_scopes(actor, declared.get(SCOPES_ATTR, frozenset()))


def authenticate() -> Actor:
    """The actor of this request, from its bearer token (verified once per request)."""
    actor = g.get("actor")
    if isinstance(actor, Actor):
        return actor
    header = request.headers.get("Authorization")
    if not header or not header.lower().startswith("bearer "):
        raise _unauthorized("this request carries no bearer access token")
    match = _BEARER.match(header)
    if match is None:
        raise _unauthorized("the Authorization header is malformed")
    state = auth_state()
    try:
        claims = state.tokens.claims(match.group(1))
    except InvalidToken as exc:
        raise _unauthorized(str(exc)) from None
    refused = state.refusal(claims["client_id"], claims["jti"])
    if refused is not None:
        raise _unauthorized(refused)
    actor = Actor(
        org=claims["org"],
        org_kind=claims["org_kind"],
        client_id=claims["client_id"],
        # What the token says, and never more than the org kind may hold.
        scopes=frozenset(claims["scope"].split()) & allowed_scopes(claims["org_kind"]),
        token_id=claims["jti"],
    )
    g.actor = actor
    return actor


def require_scopes(actor: Actor, needed: Iterable[str]) -> None:
    missing = frozenset(needed) - actor.scopes
    if missing:
        scope = format_scopes(frozenset(needed))
        raise ApiError(
            403,
            f"this operation needs the scope(s) {scope}",
            slug="insufficient-scope",
            headers={
                "WWW-Authenticate": (
                    f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"'
                )
            },
        )


def _unauthorized(detail: str) -> ApiError:
    """401 problem+json with a Bearer challenge. CONTRACT s.2 wants an error code on every 401,
    a missing token included (RFC 6750 would leave it out there): `invalid_token` it is."""
    return ApiError(
        401,
        detail,
        slug="invalid-token",
        headers={
            "WWW-Authenticate": (
                f'Bearer realm="{REALM}", error="invalid_token", error_description="{detail}"'
            )
        },
    )
