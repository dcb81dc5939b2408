"""GET /v1/notifications?after=N: the asking org's own feed, in `seq` order (CONTRACT s.4)."""

from typing import Any

from flask import Response

from coordination.api import api
from coordination.api.notifications.schemas import NotificationListArgs
from coordination.auth.guard import authorize, current_actor
from coordination.http.body import load_args
from coordination.http.conventions import json_response
from coordination.runtime import runtime
from services.notifications.handlers import notification_json
from services.notifications.queries import notifications_after


@api.get("/notifications")
@authorize("notification.list")  # any authenticated org; it only ever sees its own feed
def list_notifications() -> Response:
    args: dict[str, Any] = load_args(NotificationListArgs)
    with runtime().session_factory() as session:
        items, last_seq = notifications_after(
            session, current_actor(), args["after"], args["limit"]
        )
        body = [notification_json(n) for n in items]
    more = bool(items) and items[-1].seq < last_seq
    return json_response(
        {
            "items": body,
            "next_cursor": str(items[-1].seq) if more else None,
            "last_seq": last_seq,
        }
    )
