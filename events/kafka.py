"""Kafka plumbing shared by the relay and the consumers: client settings and the topics.

The settings object is anything with the fields of `coordination.config.Settings` that matter
here (`KafkaSettings`); the events layer does not import the web layer.
"""

import logging
from typing import Any, Protocol

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from services.messages import TOPIC_AUDIT, TOPIC_DEADLETTER, TOPIC_EVENTS, TOPIC_NOTIFICATIONS

log = logging.getLogger("coordination.events")

TOPICS = (TOPIC_EVENTS, TOPIC_AUDIT, TOPIC_NOTIFICATIONS, TOPIC_DEADLETTER)


class KafkaSecuritySettings(Protocol):
    @property
    def protocol(self) -> str: ...
    @property
    def sasl_mechanism(self) -> str | None: ...
    @property
    def sasl_username(self) -> str | None: ...
    @property
    def sasl_password(self) -> str | None: ...
    @property
    def ssl_cafile(self) -> str | None: ...


class KafkaSettings(Protocol):
    @property
    def kafka_bootstrap_servers(self) -> str | None: ...
    @property
    def kafka_security(self) -> KafkaSecuritySettings: ...
    @property
    def kafka_topic_partitions(self) -> int: ...
    @property
    def kafka_replication_factor(self) -> int: ...
    @property
    def kafka_fetch_max_wait_ms(self) -> int: ...


def client_config(settings: KafkaSettings) -> dict[str, Any]:
    """Connection settings common to producers, consumers and the admin client."""
    if not settings.kafka_bootstrap_servers:
        raise ValueError("KAFKA_BOOTSTRAP_SERVERS is not set")
    security = settings.kafka_security
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers.split(","),
        "security_protocol": security.protocol,
    }
    if security.sasl_mechanism:
        config["sasl_mechanism"] = security.sasl_mechanism
        config["sasl_plain_username"] = security.sasl_username
        config["sasl_plain_password"] = security.sasl_password
    if security.ssl_cafile:
        config["ssl_cafile"] = security.ssl_cafile
    return config


def admin_client(settings: KafkaSettings) -> KafkaAdminClient:
    return KafkaAdminClient(**client_config(settings), request_timeout_ms=5000)


def ensure_topics(settings: KafkaSettings, admin: KafkaAdminClient | None = None) -> list[str]:
    """Create the missing topics with the configured partitions and replication; returns them."""
    own = admin is None
    admin = admin or admin_client(settings)
    try:
        missing = [topic for topic in TOPICS if topic not in set(admin.list_topics())]
        created = []
        for topic in missing:
            try:
                admin.create_topics(
                    [
                        NewTopic(
                            topic,
                            settings.kafka_topic_partitions,
                            settings.kafka_replication_factor,
                        )
                    ]
                )
                created.append(topic)
            except TopicAlreadyExistsError:
                pass  # another process made it first
        if created:
            log.info("created topics", extra={"fields": {"topics": created}})
        return created
    finally:
        if own:
            admin.close()


def topic_ids(admin: KafkaAdminClient, topics: list[str]) -> dict[str, str]:
    """The broker's id of each existing topic: a recreated topic gets a new one."""
    found: dict[str, str] = {}
    for described in admin.describe_topics(topics):
        if described.get("error_code") == 0 and described.get("topic_id"):
            found[described["name"]] = str(described["topic_id"])
    return found
