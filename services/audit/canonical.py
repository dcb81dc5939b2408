"""Canonical JSON (RFC 8785, JCS): the exact bytes an audit entry is hashed and signed as.

Anyone holding an entry's fields can rebuild its leaf bytes, whatever JSON library wrote it:
keys sorted by UTF-16 code units, no whitespace, ECMAScript number formatting.
"""

from collections.abc import Mapping, Sequence
from typing import TypeAlias

import rfc8785
from rfc8785 import CanonicalizationError

__all__ = ["CanonicalizationError", "JSONValue", "canonical_json"]

JSONValue: TypeAlias = (
    bool | int | float | str | Sequence["JSONValue"] | Mapping[str, "JSONValue"] | None
)


def canonical_json(value: JSONValue) -> bytes:
    """RFC 8785 serialisation of ``value`` (dicts, lists, tuples, str, int, float, bool, None).

    Raises ``CanonicalizationError`` (a ``ValueError``) for what JCS cannot represent
    exactly: integers beyond +-(2**53 - 1), NaN and infinities, non-string keys, other types.
    """
    return rfc8785.dumps(value)
