"""Webhook subscriptions and Standard Webhooks deliveries to a real HTTP receiver: verified
signatures, retries with backoff after failures, failure after the retry window, and the
recent deliveries on the subscription."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook

from coordination.runtime import Runtime
from events.webhooks import WebhookOptions, WebhookSender
from services.clock import utcnow
from services.notifications.commands import EventReceived
from services.notifications.handlers import notify
from tests.conftest import unique
from tests.support.agencies import Agencies
from tests.support.stream import running, wait_for


class Receiver:
    """An HTTP server that records each request and answers 500 to the first `failures`."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if len(receiver.requests) < receiver.failures else 204
                receiver.requests.append(
                    ({k.lower(): v for k, v in self.headers.items()}, body, status)
                )
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running_receiver:
        yield running_receiver


def announce_referrals(rt: Runtime, to_org: str, count: int) -> None:
    """Run the notification use case on `count` referral requests (no broker needed here)."""
    with rt.session_factory() as session:
        for _ in range(count):
            referral = unique("ref")
            notify(
                session,
                EventReceived(
                    id=unique("evt"),
                    type="referral.requested",
                    time=utcnow(),
                    subject=referral,
                    data={
                        "case_id": unique("case"),
                        "referral_id": referral,
                        "from_org": "center-x",
                        "to_org": to_org,
                        "status": "requested",
                    },
                ),
                utcnow(),
            )
        session.commit()


def subscribe(agency: Any, url: str, types: list[str] | None = None) -> dict[str, Any]:
    response = agency.post(
        "/v1/subscriptions", json={"url": url, "event_types": types or ["referral.requested"]}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.json
    return body


def test_deliveries_are_signed_as_standard_webhooks_and_in_seq_order(
    rt: Runtime, agencies: Agencies, receiver: Receiver
) -> None:
    police = agencies.new("police")
    subscription = subscribe(police, receiver.url)
    assert subscription["secret"].startswith("whsec_")
    announce_referrals(rt, police.org, 3)
    sender = WebhookSender(rt.session_factory, options=WebhookOptions(poll_interval_s=0.02))
    with running(sender):
        wait_for(lambda: len(receiver.requests) >= 3, what="three deliveries")
    verifier = Webhook(subscription["secret"])
    payloads = [verifier.verify(body, headers) for headers, body, _ in receiver.requests]
    assert [p["data"]["seq"] for p in payloads] == [1, 2, 3]
    assert {p["type"] for p in payloads} == {"referral.requested"}
    assert all(p["data"]["org"] == police.org for p in payloads)
    tampered_headers, body, _ = receiver.requests[0]
    with pytest.raises(Exception):  # noqa: B017, PT011 - the library's own verification error
        verifier.verify(body.replace(b"referral", b"Referral"), tampered_headers)

    shown = police.get(f"/v1/subscriptions/{subscription['id']}").json
    assert "secret" not in shown
    assert [d["status"] for d in shown["recent_deliveries"]] == ["delivered"] * 3


def test_failing_receiver_gets_retries_with_the_same_webhook_id(
    rt: Runtime, agencies: Agencies
) -> None:
    police = agencies.new("police")
    with Receiver(failures=2) as flaky:
        subscription = subscribe(police, flaky.url)
        announce_referrals(rt, police.org, 1)
        options = WebhookOptions(retry_base_s=0.05, poll_interval_s=0.02)
        with running(WebhookSender(rt.session_factory, options=options)):
            wait_for(lambda: len(flaky.requests) >= 3, what="two failures and a success")
    statuses = [status for _, _, status in flaky.requests]
    assert statuses == [500, 500, 204]
    assert len({headers["webhook-id"] for headers, _, _ in flaky.requests}) == 1
    delivery = police.get(f"/v1/subscriptions/{subscription['id']}").json["recent_deliveries"][0]
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 3)


def test_delivery_is_marked_failed_after_the_retry_window(rt: Runtime, agencies: Agencies) -> None:
    police = agencies.new("police")
    with Receiver(failures=10**6) as broken:
        subscription = subscribe(police, broken.url)
        announce_referrals(rt, police.org, 1)
        # Waits of 0.05, 0.1, 0.2, 0.4 and 0.8 s: a sixth attempt would fall past the window, and
        # a first attempt delayed by a busy machine still leaves room for a second.
        options = WebhookOptions(retry_base_s=0.05, retry_window_s=1.5, poll_interval_s=0.02)
        with running(WebhookSender(rt.session_factory, options=options)):
            wait_for(
                lambda: (
                    police.get(f"/v1/subscriptions/{subscription['id']}").json["recent_deliveries"][
                        0
                    ]["status"]
                    == "failed"
                ),
                what="the delivery given up",
            )
    assert 2 <= len(broken.requests) <= 5  # backed off exponentially, then stopped


def test_subscriptions_are_listed_and_deleted_by_their_org_only(
    agencies: Agencies, receiver: Receiver
) -> None:
    police, other = agencies.new("police"), agencies.new("police")
    subscription = subscribe(police, receiver.url, ["referral.requested", "referral.overdue"])
    listed = police.get("/v1/subscriptions").json["items"]
    assert [s["id"] for s in listed] == [subscription["id"]]
    assert "secret" not in listed[0]
    assert other.get("/v1/subscriptions").json["items"] == []
    assert other.get(f"/v1/subscriptions/{subscription['id']}").status_code == 404
    assert other.delete(f"/v1/subscriptions/{subscription['id']}").status_code == 404
    assert police.delete(f"/v1/subscriptions/{subscription['id']}").status_code == 204
    assert police.get(f"/v1/subscriptions/{subscription['id']}").status_code == 404


def test_subscription_refuses_bad_urls_and_unknown_event_types(agencies: Agencies) -> None:
    police = agencies.new("police")
    bad_url = police.post(
        "/v1/subscriptions", json={"url": "ftp://x", "event_types": ["referral.requested"]}
    )
    assert bad_url.status_code == 422
    bad_type = police.post(
        "/v1/subscriptions", json={"url": "https://x.test/h", "event_types": ["case.opened"]}
    )
    assert bad_type.status_code == 422


def test_subscriptions_need_the_subscriptions_write_scope(agencies: Agencies) -> None:
    auditor = agencies.new("auditor")
    assert auditor.get("/v1/subscriptions").status_code == 403
