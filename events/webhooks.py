"""Webhook deliveries, signed as Standard Webhooks (https://www.standardwebhooks.com/).

Headers `webhook-id` (the delivery id, the same on every retry), `webhook-timestamp` (Unix
seconds) and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the
base64 secret after `whsec_`). A delivery that gets no 2xx is retried with exponential backoff
(`retry_base_s` x 2^attempts) until `retry_window_s` after it was created, then marked failed.
"""

import base64
import hashlib
import hmac
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.clock import Clock, SystemClock
from services.notifications.models import Delivery, Subscription

log = logging.getLogger("coordination.webhooks")


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass
class WebhookOptions:
    retry_base_s: float = 10.0
    retry_window_s: float = 24 * 3600.0
    timeout_s: float = 5.0
    batch_size: int = 50
    poll_interval_s: float = 0.2


class WebhookSender:
    def __init__(
        self,
        session_factory: sessionmaker[Any],
        *,
        options: WebhookOptions | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.options = options or WebhookOptions()
        self.clock: Clock = clock or SystemClock()
        self.http = requests.Session()

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    sent = self.deliver_due()
                except Exception as exc:
                    log.warning(
                        "webhook round failed", extra={"fields": {"error": type(exc).__name__}}
                    )
                    sent = 0
                if not sent:
                    stop.wait(self.options.poll_interval_s)
        finally:
            self.http.close()

    def deliver_due(self) -> int:
        """Attempt every delivery that is due; returns how many were attempted."""
        now = self.clock.now()
        with self.session_factory() as session:
            due = list(
                session.execute(
                    select(Delivery.id, Delivery.payload, Subscription.url, Subscription.secret)
                    .join(Subscription, Subscription.id == Delivery.subscription_id)
                    .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
                    .order_by(Delivery.next_attempt_at, Delivery.seq)
                    .limit(self.options.batch_size)
                )
            )
            session.rollback()
        for delivery_id, payload, url, secret in due:
            status, error = self._post(delivery_id, payload, url, secret)
            self._record(delivery_id, status, error)
        return len(due)

    def _post(
        self, delivery_id: str, payload: str, url: str, secret: str
    ) -> tuple[int | None, str]:
        timestamp = int(self.clock.now().timestamp())
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, delivery_id, timestamp, payload),
        }
        try:
            response = self.http.post(
                url,
                data=payload.encode(),
                headers=headers,
                timeout=self.options.timeout_s,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return None, type(exc).__name__
        return response.status_code, "" if 200 <= response.status_code < 300 else "non-2xx"

    def _record(self, delivery_id: str, status: int | None, error: str) -> None:
        now = self.clock.now()
        with self.session_factory() as session:
            delivery = session.get(Delivery, delivery_id)
            if delivery is None or delivery.status != "pending":
                session.rollback()
                return
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.last_status_code = status
            if status is not None and 200 <= status < 300:
                delivery.status = "delivered"
                delivery.delivered_at = now
                delivery.last_error = None
            else:
                delivery.last_error = error[:200]
                wait = self.options.retry_base_s * 2 ** (delivery.attempts - 1)
                next_at = now + timedelta(seconds=wait)
                give_up = delivery.created_at + timedelta(seconds=self.options.retry_window_s)
                if next_at > give_up:
                    delivery.status = "failed"
                else:
                    delivery.next_attempt_at = next_at
            session.commit()
