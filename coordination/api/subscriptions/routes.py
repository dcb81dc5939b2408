"""/v1/subscriptions: an org's webhook subscriptions (CONTRACT s.4), `subscriptions.write`."""

from flask import Response

from coordination.api import api
from coordination.api.subscriptions.schemas import SubscriptionIn, subscription_json
from coordination.auth.guard import authorize, current_actor
from coordination.http.body import load_body
from coordination.http.conventions import json_response, request_uow
from coordination.runtime import runtime
from services.notifications import handlers, queries
from services.notifications.commands import CreateSubscription, DeleteSubscription


@api.post("/subscriptions")
@authorize("subscription.create", "subscriptions.write")
def create_subscription() -> Response:
    body = load_body(SubscriptionIn)
    subscription = handlers.create_subscription(
        CreateSubscription(url=body["url"], event_types=body["event_types"], secret=body["secret"]),
        request_uow(),
        current_actor(),
    )
    return json_response(
        subscription_json(subscription, with_secret=True),
        201,
        location=f"/v1/subscriptions/{subscription.id}",
    )


@api.get("/subscriptions")
@authorize("subscription.list", "subscriptions.write")
def list_subscriptions() -> Response:
    with runtime().session_factory() as session:
        items = [subscription_json(s) for s in queries.list_subscriptions(session, current_actor())]
    return json_response({"items": items, "next_cursor": None})


@api.get("/subscriptions/<subscription_id>")
@authorize("subscription.read", "subscriptions.write")
def read_subscription(subscription_id: str) -> Response:
    with runtime().session_factory() as session:
        subscription = queries.get_subscription(session, current_actor(), subscription_id)
        deliveries = queries.recent_deliveries(session, subscription.id)
        body = subscription_json(subscription, deliveries=deliveries)
    return json_response(body)


@api.delete("/subscriptions/<subscription_id>")
@authorize("subscription.delete", "subscriptions.write")
def delete_subscription(subscription_id: str) -> Response:
    handlers.delete_subscription(
        DeleteSubscription(subscription_id), request_uow(), current_actor()
    )
    return Response(status=204)
