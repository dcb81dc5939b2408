"""The `/v1` API: one blueprint that every domain's routes hang off, so one guard covers all."""

from flask import Blueprint, Flask

api = Blueprint("v1", __name__, url_prefix="/v1")


def init_app(app: Flask) -> None:
    # Each domain adds one import and one register line here.
    from coordination.api.audit import routes as audit_routes  # noqa: F401
    from coordination.api.cases import routes as case_routes  # noqa: F401
    from coordination.api.consents import routes as consent_routes  # noqa: F401
    from coordination.api.content import routes as content_routes  # noqa: F401
    from coordination.api.monitoring import routes as monitoring_routes  # noqa: F401
    from coordination.api.notifications import routes as notification_routes  # noqa: F401
    from coordination.api.referrals import routes as referral_routes  # noqa: F401
    from coordination.api.services import routes as service_routes  # noqa: F401
    from coordination.api.stats import routes as stats_routes  # noqa: F401
    from coordination.api.subscriptions import routes as subscription_routes  # noqa: F401

    app.register_blueprint(api)
