"""Opaque, time-ordered identifiers (UUIDv7, RFC 9562)."""

import os
import time
import uuid


def new_id() -> str:
    """A UUIDv7: sortable by creation time, so cursors and indexes stay cheap."""
    unix_ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 68 & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))
