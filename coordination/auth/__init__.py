"""OAuth 2.0 for partner agencies: the authorization server and the /v1 guard (CONTRACT s. 2)."""

from flask import Flask

from coordination.auth import guard, server
from coordination.auth.keys import KeyStore
from coordination.auth.refusals import RefusalCheck
from coordination.auth.state import EXTENSION, AuthState
from coordination.auth.token_cache import VerifiedTokens
from coordination.runtime import runtime


def init_app(app: Flask) -> None:
    settings = runtime(app).settings
    keys = KeyStore(settings.signing_key_file, settings.access_token_ttl_s)
    keys.ensure()  # created on first start, readable by the owner only
    app.extensions[EXTENSION] = AuthState.build(
        keys,
        server.build_server(app),
        RefusalCheck(app),
        VerifiedTokens(keys, settings),
        settings.rate_limit_per_s,
        settings.rate_limit_burst,
    )
    app.register_blueprint(server.bp)
    app.before_request(guard.protect_api)
