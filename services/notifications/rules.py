"""Who is told about what (CONTRACT section 4, Notifications). Pure functions of one event."""

from typing import Any

NOTIFICATION_TYPES = (
    "referral.requested",
    "referral.status_changed",
    "referral.update_added",
    "referral.overdue",
    "consent.revoked",
    "content.reupload_detected",
)


def recipients(event_type: str, data: dict[str, Any], actor_org: str) -> list[str]:
    """The orgs an event concerns, in a stable order, each once; empty for all other events."""
    orgs: list[str] = []
    if event_type == "referral.requested":
        orgs = [_str(data, "to_org")]
    elif event_type == "referral.status_changed":
        orgs = _status_change(data, actor_org)
    elif event_type == "referral.update_added":
        # The other side of the referral hears of an update; an update by the system, both.
        orgs = _other_sides(data, actor_org)
    elif event_type == "referral.overdue":
        orgs = [_str(data, "from_org"), _str(data, "to_org")]
    elif event_type == "consent.revoked":
        affected = data.get("affected_orgs") or []
        orgs = [str(org) for org in affected if isinstance(org, str)]
    elif event_type == "content.reupload_detected":
        orgs = [_str(data, "owner_org")]
    return _unique(org for org in orgs if org)


def _status_change(data: dict[str, Any], actor_org: str) -> list[str]:
    previous, status = data.get("previous_status"), data.get("status")
    if previous == "draft":
        # Sending a draft addresses the receiver for the first time; cancelling one tells no one
        # else, since the receiver never saw it.
        return [_str(data, "to_org")] if status == "requested" else []
    return _other_sides(data, actor_org)


def _other_sides(data: dict[str, Any], actor_org: str) -> list[str]:
    sides = [_str(data, "from_org"), _str(data, "to_org")]
    side = data.get("actor_side")
    if side == "sender":
        return sides[1:]
    if side == "receiver":
        return sides[:1]
    actor = data.get("author_org") or actor_org
    others = [org for org in sides if org != actor]
    return others or sides


def _str(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    return value if isinstance(value, str) else ""


def _unique(orgs: Any) -> list[str]:
    seen: list[str] = []
    for org in orgs:
        if org not in seen:
            seen.append(org)
    return seen
