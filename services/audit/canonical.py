"""Canonical JSON (RFC 8785, JCS): the exact bytes an audit entry is hashed and signed as.

Anyone holding an entry's fields can rebuild its leaf bytes, whatever JSON library wrote it:
keys sorted by UTF-16 code units, no whitespace, ECMAScript number formatting.
"""

import json
from collections.abc import Mapping, Sequence
from typing import TypeAlias

import rfc8785
from rfc8785 import CanonicalizationError

__all__ = ["CanonicalizationError", "JSONValue", "canonical_json"]

JSONValue: TypeAlias = (
    bool | int | float | str | Sequence["JSONValue"] | Mapping[str, "JSONValue"] | None
)


_MAX_SAFE_INTEGER = 2**53 - 1


def canonical_json(value: JSONValue) -> bytes:
    """RFC 8785 serialisation of ``value`` (dicts, lists, tuples, str, int, float, bool, None).

    Raises ``CanonicalizationError`` (a ``ValueError``) for what JCS cannot represent
    exactly: integers beyond +-(2**53 - 1), NaN and infinities, non-string keys, other types.
    """
    if isinstance(value, dict) and _is_flat_simple(value):
        # A flat object of ASCII keys and string, safe-integer, boolean or null values (every
        # audit entry): the C JSON encoder writes exactly the JCS bytes, about 5x faster.
        # Python escapes the same characters JCS does (", \, control characters, with the
        # short forms and lowercase \u00xx); sorting ASCII keys by code point is UTF-16 order.
        try:
            return json.dumps(
                value, ensure_ascii=False, sort_keys=True, separators=(",", ":")
            ).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: let rfc8785 refuse it properly
            pass
    return rfc8785.dumps(value)


def _is_flat_simple(value: dict[object, object]) -> bool:
    for key, item in value.items():
        if not isinstance(key, str) or not key.isascii():
            return False
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if type(item) is int and -_MAX_SAFE_INTEGER <= item <= _MAX_SAFE_INTEGER:
            continue
        return False
    return True
