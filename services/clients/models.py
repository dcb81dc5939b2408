"""OAuth clients of partner agencies, revoked access tokens, and used client-assertion ids."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.clients.credentials import hash_secret, new_secret
from services.db import Base


class OAuthClient(Base):
    """One system of one org. Authenticates with a secret (kept only as a hash) or a JWKS."""

    __tablename__ = "oauth_clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the OAuth client_id
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    scope: Mapped[str] = mapped_column(Text)  # space-separated, as in OAuth
    secret_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    jwks: Mapped[str | None] = mapped_column(Text, default=None)  # public keys, private_key_jwt
    created_at: Mapped[datetime]
    secret_rotated_at: Mapped[datetime | None] = mapped_column(default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())

    @property
    def auth_method(self) -> str:
        return "private_key_jwt" if self.jwks else "client_secret_basic"

    def set_new_secret(self, now: datetime) -> str:
        """Replaces the secret; the old one stops working at once. Returns the new one, once."""
        secret = new_secret()
        self.secret_hash = hash_secret(secret)
        self.secret_rotated_at = now
        return secret


class RevokedToken(Base):
    """An access token refused before its expiry (RFC 7009). Kept until the token would expire."""

    __tablename__ = "oauth_revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime]


class UsedAssertion(Base):
    """The `jti` of a client assertion already accepted: a second use is a replay (RFC 7523)."""

    __tablename__ = "oauth_used_assertions"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime]

    __table_args__ = (Index("ix_oauth_used_assertions_expires_at", "expires_at"),)
