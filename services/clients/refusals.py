"""What every serving process keeps in memory to refuse a validly signed token without asking
the database (coordination/auth/refusals.py): the clients that exist, those disabled, and the
revoked tokens not yet expired.

A transaction that creates or disables a client or revokes a token announces it (`announce`):
on the NOTIFY channel `coordination_refusals`, which PostgreSQL delivers to the other processes
when, and only if, the transaction commits; and, once it has committed, to the subscribers of
this very process (`subscribe`), which need not wait for the notification to come back.
`load_refusals` is what a process starts from. Everything here only ever grows (a client is
never deleted nor enabled again; a revoked token stays refused until it expires), so applying
the same change twice, or out of order, is harmless.
"""

import json
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, event, func, select
from sqlalchemy.orm import Session

from services.clients.models import OAuthClient, RevokedToken

CHANNEL = "coordination_refusals"
_PENDING = "coordination.refusals"  # Session.info key: the changes of the open transaction


@dataclass(frozen=True)
class Refusals:
    """A snapshot, a change, or the sum of both. Never changed once built (readers hold no lock).

    `clients`: the client ids that exist; `disabled`: those disabled; `revoked`: revoked token
    ids, each with the epoch second until which it is refused (its expiry plus the leeway)."""

    clients: frozenset[str] = frozenset()
    disabled: frozenset[str] = frozenset()
    revoked: dict[str, float] = field(default_factory=dict)

    def __or__(self, other: "Refusals") -> "Refusals":
        return Refusals(
            self.clients | other.clients,
            self.disabled | other.disabled,
            {**self.revoked, **other.revoked},
        )

    def to_payload(self) -> str:
        return json.dumps(
            {
                "clients": sorted(self.clients),
                "disabled": sorted(self.disabled),
                "revoked": self.revoked,
            }
        )

    @classmethod
    def from_payload(cls, payload: str) -> "Refusals":
        """Raises ValueError (or KeyError, TypeError) for a payload that is not ours."""
        data = json.loads(payload)
        clients, disabled, revoked = data["clients"], data["disabled"], data["revoked"]
        if not (isinstance(clients, list) and isinstance(disabled, list)):
            raise ValueError("not a refusals payload")
        if not all(isinstance(c, str) for c in [*clients, *disabled]):
            raise ValueError("not a refusals payload")
        if not isinstance(revoked, dict):
            raise ValueError("not a refusals payload")
        return cls(
            frozenset(clients),
            frozenset(disabled),
            {str(jti): float(until) for jti, until in revoked.items()},
        )


_subscribers: list[weakref.WeakMethod[Callable[[Refusals], None]]] = []
_subscribers_lock = threading.Lock()


def subscribe(apply: Callable[[Refusals], None]) -> None:
    """`apply` (a bound method, held weakly) gets every change this process commits."""
    with _subscribers_lock:
        _subscribers.append(weakref.WeakMethod(apply))


def announce(session: Session, change: Refusals) -> None:
    """Announces the change when the caller's transaction commits (see above). SQLite has no
    NOTIFY: its processes ask the database on every request."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(CHANNEL, change.to_payload())))
    session.info.setdefault(_PENDING, []).append(change)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    changes = session.info.pop(_PENDING, None)
    if not changes:
        return
    with _subscribers_lock:
        _subscribers[:] = [ref for ref in _subscribers if ref() is not None]
        live = [ref() for ref in _subscribers]
    for apply in live:
        for change in changes:
            if apply is not None:
                apply(change)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def load_refusals(connection: Connection, now: datetime) -> Refusals:
    """All of it as of now: every client, and every revoked token not yet expired."""
    clients = connection.execute(select(OAuthClient.id, OAuthClient.disabled_at)).all()
    revoked = connection.execute(
        select(RevokedToken.jti, RevokedToken.expires_at).where(RevokedToken.expires_at >= now)
    ).all()
    return Refusals(
        clients=frozenset(client_id for client_id, _ in clients),
        disabled=frozenset(client_id for client_id, disabled_at in clients if disabled_at),
        revoked={jti: until.timestamp() for jti, until in revoked},
    )
