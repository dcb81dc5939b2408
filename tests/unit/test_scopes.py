"""Which org kind may hold which scope (CONTRACT section 2), as data."""

import pytest

from services.actor import ORG_KINDS
from services.clients.scopes import (
    ALL_SCOPES,
    ALLOWED_BY_KIND,
    allowed_scopes,
    format_scopes,
    parse_scopes,
)

CONTRACT_SCOPES = {
    "cases.read",
    "cases.write",
    "pii.read",
    "pii.write",
    "content.read",
    "content.write",
    "referrals.read",
    "referrals.write",
    "services.write",
    "audit.read",
    "stats.read",
    "subscriptions.write",
}


def holders(scope: str) -> set[str]:
    return {kind for kind, scopes in ALLOWED_BY_KIND.items() if scope in scopes}


def test_scopes_are_exactly_those_of_the_contract() -> None:
    assert ALL_SCOPES == CONTRACT_SCOPES


def test_every_org_kind_has_an_entry() -> None:
    assert set(ALLOWED_BY_KIND) == set(ORG_KINDS)
    for kind in ORG_KINDS:
        assert allowed_scopes(kind) <= ALL_SCOPES
        assert allowed_scopes(kind)


@pytest.mark.parametrize("scope", ["cases.write", "pii.write"])
def test_only_the_support_center_may_write_cases_and_identity(scope: str) -> None:
    assert holders(scope) == {"support_center"}


def test_only_auditor_and_support_center_may_read_the_audit_trail() -> None:
    assert holders("audit.read") == {"auditor", "support_center"}


def test_auditor_never_reads_case_details() -> None:
    assert allowed_scopes("auditor").isdisjoint(
        {"cases.read", "pii.read", "content.read", "referrals.read"}
    )


def test_unknown_kind_may_hold_nothing() -> None:
    assert allowed_scopes("bank") == frozenset()
    assert allowed_scopes("system") == frozenset()


def test_parse_scopes_drops_duplicates_and_keeps_order() -> None:
    assert parse_scopes("  b a  b ") == ["b", "a"]
    assert parse_scopes("") == []


def test_format_scopes_is_sorted_and_space_separated() -> None:
    assert format_scopes({"referrals.read", "cases.read"}) == "cases.read referrals.read"
