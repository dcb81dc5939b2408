"""Is the broker there? A metadata round trip, cached for a few seconds (for `/readyz`)."""

import socket
import threading
import time

from kafka.admin import KafkaAdminClient

from events.kafka import KafkaSettings, client_config

CACHE_S = 5.0


class BrokerProbe:
    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._checked_at = -CACHE_S
        self._reason: str | None = None

    def __call__(self) -> str | None:
        """None when the broker answered a metadata request, else a short reason."""
        with self._lock:
            if time.monotonic() - self._checked_at >= CACHE_S:
                self._reason = self._probe()
                self._checked_at = time.monotonic()
            return self._reason

    def _probe(self) -> str | None:
        if not any(
            _accepts(server) for server in client_config(self.settings)["bootstrap_servers"]
        ):
            return "broker not reachable"
        try:
            admin = KafkaAdminClient(
                **client_config(self.settings),
                request_timeout_ms=1500,
            )
        except Exception:
            return "broker not reachable"
        try:
            admin.list_topics()
        except Exception:
            return "broker not answering"
        finally:
            admin.close()
        return None


def _accepts(server: str) -> bool:
    """A plain TCP connect first: cheap, and it leaves no half-made Kafka client behind."""
    host, _, port = server.strip().rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            return True
    except (OSError, ValueError):
        return False
