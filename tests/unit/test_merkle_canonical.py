"""The fast path of canonical JSON writes exactly the bytes of the reference RFC 8785 encoder."""

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from services.audit.canonical import CanonicalizationError, canonical_json

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.text(),
    st.text(alphabet=st.characters(max_codepoint=0x40)),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(alphabet=st.characters(max_codepoint=0x7F)), values))
def test_fast_path_equals_reference_encoder(document: dict[str, Any]) -> None:
    try:
        expected = rfc8785.dumps(document)
    except CanonicalizationError:
        with pytest.raises(CanonicalizationError):
            canonical_json(document)
        return
    assert canonical_json(document) == expected


@pytest.mark.parametrize(
    "document",
    [
        {"a": 2**53},
        {"a": "\ud800"},
        {"a": 1.5},
        {"\u00e9": 1, "z": 2},
        {"\U0001f600": 1, "\uffff": 2},
        {"a": {"nested": [1, 2]}},
    ],
)
def test_other_documents_follow_the_reference_encoder(document: dict[str, Any]) -> None:
    try:
        expected = rfc8785.dumps(document)
    except CanonicalizationError:
        with pytest.raises(CanonicalizationError):
            canonical_json(document)
        return
    assert canonical_json(document) == expected


def test_audit_entry_leaf_is_its_canonical_json() -> None:
    document = {
        "index": 7,
        "at": "2026-01-01T00:00:00.000000Z",
        "org": "seoul-dsc",
        "client_id": None,
        "action": "case.read",
        "resource": "/v1/cases/\u2028\x01",
        "outcome": "allowed",
        "request_id": None,
        "case_id": "c",
        "event_id": "e",
    }
    assert canonical_json(document) == rfc8785.dumps(document)
