"""Who is acting: resolved from a verified access token by the web layer, given to use cases."""

from dataclasses import dataclass, field

ORG_KINDS = (
    "support_center",
    "police",
    "standards_commission",
    "legal_aid",
    "counseling",
    "platform",
    "auditor",
)


@dataclass(frozen=True, slots=True)
class Actor:
    org: str
    org_kind: str
    client_id: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: str = ""

    def has(self, scope: str) -> bool:
        return scope in self.scopes


#: Used by the command line and the workers: acts for the service itself, never for an org.
SYSTEM = Actor(org="", org_kind="system", client_id="system")
