"""Settings from the environment (CONTRACT section 6). A bad value stops start-up with one line."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class ConfigError(Exception):
    """An invalid setting; the message names it and says what is expected."""


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None


@dataclass(frozen=True)
class Settings:
    database_url: str
    kafka_bootstrap_servers: str | None  # None: `serve` starts the embedded broker
    issuer: str
    signing_key_file: Path
    data_key_file: Path
    audit_key_file: Path
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)
    kafka_topic_partitions: int = 3
    kafka_replication_factor: int = 1
    kafka_fetch_max_wait_ms: int = 25
    access_token_ttl_s: int = 600
    rate_limit_per_s: float = 50.0
    rate_limit_burst: int = 100
    outbox_retention_days: int = 7
    takedown_due_hours: int = 24
    log_level: str = "INFO"

    @property
    def api_audience(self) -> str:
        """The `aud` of access tokens: this API, distinct from the token endpoint."""
        return self.issuer.rstrip("/") + "/v1"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, cwd: Path | None = None
    ) -> "Settings":
        env = os.environ if env is None else env
        here = cwd or Path.cwd()
        var = here / "var"
        settings = cls(
            database_url=env.get("DATABASE_URL") or f"sqlite:///{here / 'coordination.sqlite3'}",
            kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            issuer=env.get("COORDINATION_ISSUER", "http://127.0.0.1:8000"),
            signing_key_file=Path(
                env.get("COORDINATION_SIGNING_KEY_FILE", var / "signing-keys.json")
            ),
            data_key_file=Path(env.get("COORDINATION_DATA_KEY_FILE", var / "data-key")),
            audit_key_file=Path(env.get("COORDINATION_AUDIT_KEY_FILE", var / "audit-key")),
            kafka_security=KafkaSecurity(
                protocol=env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
                sasl_mechanism=env.get("KAFKA_SASL_MECHANISM") or None,
                sasl_username=env.get("KAFKA_SASL_USERNAME") or None,
                sasl_password=env.get("KAFKA_SASL_PASSWORD") or None,
                ssl_cafile=env.get("KAFKA_SSL_CAFILE") or None,
            ),
            kafka_topic_partitions=_int(env, "KAFKA_TOPIC_PARTITIONS", 3),
            kafka_replication_factor=_int(env, "KAFKA_REPLICATION_FACTOR", 1),
            kafka_fetch_max_wait_ms=_int(env, "KAFKA_FETCH_MAX_WAIT_MS", 25),
            access_token_ttl_s=_int(env, "COORDINATION_ACCESS_TOKEN_TTL", 600),
            rate_limit_per_s=float(_int(env, "COORDINATION_RATE_LIMIT_PER_S", 50)),
            rate_limit_burst=_int(env, "COORDINATION_RATE_LIMIT_BURST", 100),
            outbox_retention_days=_int(env, "COORDINATION_OUTBOX_RETENTION_DAYS", 7),
            takedown_due_hours=_int(env, "COORDINATION_TAKEDOWN_DUE_HOURS", 24),
            log_level=env.get("COORDINATION_LOG_LEVEL", "INFO").upper(),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if not self.database_url.startswith(
            ("sqlite:///", "postgresql://", "postgresql+psycopg://")
        ):
            raise ConfigError(
                "DATABASE_URL: expected sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
            )
        issuer = urlsplit(self.issuer)
        if issuer.scheme not in ("http", "https") or not issuer.netloc or issuer.query:
            raise ConfigError("COORDINATION_ISSUER: expected an http(s) URL without a query")
        if self.kafka_bootstrap_servers is not None:
            for server in self.kafka_bootstrap_servers.split(","):
                host, _, port = server.strip().rpartition(":")
                if not host or not port.isdigit():
                    raise ConfigError("KAFKA_BOOTSTRAP_SERVERS: expected HOST:PORT[,HOST:PORT...]")
        if self.kafka_security.protocol not in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"):
            raise ConfigError(
                "KAFKA_SECURITY_PROTOCOL: expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
            )
        if self.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError("COORDINATION_LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name}: expected a number above 0, got {value}")
    return value
