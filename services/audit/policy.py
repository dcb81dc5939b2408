"""Who may read which audit entries (CONTRACT section 4): the one place that decides it.

The auditor reads every entry (entries hold ids and codes, never case contents). A support
center reads the entries about the cases it owns. No other org reads the trail. The same rule is
a SQL filter, so lists, single entries, the review and proofs can never disagree.
"""

from sqlalchemy import ColumnElement, select, true

from services.actor import Actor
from services.audit.models import AuditEntry
from services.cases.models import Case
from services.errors import Forbidden

READER_KINDS = frozenset({"auditor", "support_center"})
#: Org kinds whose witnesses may post cosignatures (the partners who keep the log honest).
WITNESS_KINDS = frozenset({"auditor", "police", "standards_commission"})


def reads_every_entry(actor: Actor) -> bool:
    """The auditor: no filter at all, so e.g. a proof need not look at the entry first."""
    return actor.org_kind == "auditor"


def entry_filter(actor: Actor) -> ColumnElement[bool]:
    """WHERE clause on `audit_entries`: only what the actor may read; `Forbidden` for others."""
    if reads_every_entry(actor):
        return true()
    if actor.org_kind == "support_center" and actor.org:
        owned = select(Case.id).where(Case.owner_org == actor.org)
        return AuditEntry.case_id.in_(owned)
    raise Forbidden("only the auditor and support centers read the audit trail")


def check_may_witness(actor: Actor) -> None:
    if actor.org_kind not in WITNESS_KINDS:
        raise Forbidden("only the auditor, the police and the standards commission cosign")
