"""Scopes (CONTRACT section 2) and which org kind may hold which: authorisation as data."""

SCOPES: dict[str, str] = {
    "cases.read": "Read cases the organisation owns or is referred to",
    "cases.write": "Open and update cases (support centers only)",
    "pii.read": "Read victim identity and contact, where a referral shares it",
    "pii.write": "Record, correct and erase victim identity (support centers only)",
    "content.read": "Read descriptions, hashes and sightings of illegal content",
    "content.write": "Register content, record sightings and submit monitoring hits",
    "referrals.read": "Read referrals sent or received, and their updates",
    "referrals.write": "Create referrals, move them through their states, post updates",
    "services.write": "Record support services delivered",
    "audit.read": "Read the audit trail, its checkpoints and proofs",
    "stats.read": "Read anonymised statistics",
    "subscriptions.write": "Manage webhook subscriptions and read the notification feed",
}

ALL_SCOPES = frozenset(SCOPES)

#: What each org kind may hold. Only the support center may write cases or victim identity;
#: only the auditor and the support center may read the audit trail.
ALLOWED_BY_KIND: dict[str, frozenset[str]] = {
    "support_center": ALL_SCOPES,
    "police": frozenset(
        {
            "cases.read",
            "referrals.read",
            "referrals.write",
            "content.read",
            "pii.read",
            "services.write",
            "subscriptions.write",
        }
    ),
    "standards_commission": frozenset(
        {
            "cases.read",
            "content.read",
            "content.write",
            "referrals.read",
            "referrals.write",
            "subscriptions.write",
        }
    ),
    "legal_aid": frozenset(
        {
            "cases.read",
            "referrals.read",
            "referrals.write",
            "services.write",
            "pii.read",
            "subscriptions.write",
        }
    ),
    "counseling": frozenset(
        {
            "cases.read",
            "referrals.read",
            "referrals.write",
            "services.write",
            "pii.read",
            "subscriptions.write",
        }
    ),
    "platform": frozenset(
        {"content.read", "referrals.read", "referrals.write", "subscriptions.write"}
    ),
    "auditor": frozenset({"audit.read", "stats.read"}),
}


def allowed_scopes(org_kind: str) -> frozenset[str]:
    return ALLOWED_BY_KIND.get(org_kind, frozenset())


def parse_scopes(text: str) -> list[str]:
    """A space-separated scope string (RFC 6749 section 3.3), duplicates dropped, order kept."""
    return list(dict.fromkeys(text.split()))


def format_scopes(scopes: frozenset[str] | set[str] | list[str]) -> str:
    return " ".join(sorted(scopes))
