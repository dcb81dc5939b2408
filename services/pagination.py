"""Cursor (keyset) pagination for every list: `?limit=` and an opaque, tamper-proof `?cursor=`.

A cursor is `base64url(json payload) "." base64url(hmac)`: the payload names the list it
belongs to and the sort key of the last item shown. The HMAC (keyed with a secret the web layer
derives from the master key) makes any edit, or a cursor of another list, invalid (422). Even a
forged position could only move *within* what the policy filter lets the actor see.

Lists are ordered by their id (UUIDv7, so by creation time), newest first unless asked.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import QueryableAttribute, Session

from services.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
CURSOR_VERSION = 1

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    """What the client asked for: how many, and after which key (already verified)."""

    limit: int = DEFAULT_LIMIT
    after: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_key: str | None  # the sort key to continue after, or None on the last page


def check_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    limit = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4 else 0
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(
            f"limit must be an integer from 1 to {MAX_LIMIT}",
            errors={"limit": [f"an integer from 1 to {MAX_LIMIT}"]},
        )
    return limit


def encode_cursor(secret: bytes, list_name: str, key: str) -> str:
    payload = json.dumps({"v": CURSOR_VERSION, "l": list_name, "k": key}, separators=(",", ":"))
    body = _b64(payload.encode())
    return f"{body}.{_b64(_sign(secret, body))}"


def decode_cursor(secret: bytes, list_name: str, cursor: str) -> str:
    """The key a cursor continues after; `InvalidInput` if it was not made by us for this list."""
    bad = InvalidInput(
        "the cursor is not valid for this list; start again without it",
        errors={"cursor": ["not a cursor this list handed out"]},
    )
    body, dot, signature = cursor.partition(".")
    if not dot or len(cursor) > 1024:
        raise bad
    try:
        given = _unb64(signature)
        if not hmac.compare_digest(given, _sign(secret, body)):
            raise bad
        payload = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        raise bad from None
    if (
        not isinstance(payload, dict)
        or payload.get("v") != CURSOR_VERSION
        or payload.get("l") != list_name
        or not isinstance(payload.get("k"), str)
    ):
        raise bad
    key: str = payload["k"]
    return key


def paginate(
    session: Session,
    stmt: Select[Any],
    key: ColumnElement[str] | QueryableAttribute[str],
    page: PageRequest,
    *,
    newest_first: bool = True,
) -> Page[Any]:
    """Run `stmt` (a `select(Model)` with its filters) for one page, keyed on `key` (unique)."""
    if page.after is not None:
        stmt = stmt.where(key < page.after if newest_first else key > page.after)
    stmt = stmt.order_by(key.desc() if newest_first else key.asc()).limit(page.limit + 1)
    rows: Sequence[Any] = session.scalars(stmt).all()
    items = list(rows[: page.limit])
    has_more = len(rows) > page.limit
    return Page(items, _key_of(items[-1], key) if has_more and items else None)


def _key_of(item: Any, key: ColumnElement[str] | QueryableAttribute[str]) -> str:
    name = str(getattr(key, "key", None) or "id")
    return str(getattr(item, name))


def _sign(secret: bytes, body: str) -> bytes:
    return hmac.new(secret, b"cursor\x1f" + body.encode(), hashlib.sha256).digest()[:16]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or not all(c.isalnum() or c in "-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
