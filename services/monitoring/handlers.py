"""Use cases of issue 7: a monitoring hit is matched against known content; the sweeper runs
the takedown clock and puts cleared cases under monitoring; a center records a re-check."""

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.access.policy import can_see_referral, content_filter
from services.actor import Actor
from services.cases.models import Case
from services.content.events import ContentReuploadDetected
from services.content.matching import MIN_QUALITY, Match, is_pdq_hex, is_quality, is_sha256_hex
from services.content.models import ContentItem, Sighting
from services.errors import Forbidden, InvalidInput, NotFound
from services.ids import new_id
from services.monitoring.commands import RecordCheck, ReportHit, Sweep
from services.monitoring.index import SharedIndex, is_matchable_case, prune_changes
from services.monitoring.models import LOW_QUALITY, MonitoringHit, MonitoringPlan, ReferralClock
from services.monitoring.schedule import record_check, start_monitoring_if_cleared
from services.referrals.events import ReferralOverdue
from services.referrals.models import REMOVED_CODE, Referral, ReferralContent
from services.unit_of_work import UnitOfWork

#: Who may report hits: a center's own monitoring, or the standards commission.
REPORTER_KINDS = frozenset({"support_center", "standards_commission"})
#: A referral in one of these is still being worked on, so it can be late.
OPEN_STATUSES = ("requested", "accepted", "in_progress", "on_hold")
MAX_URL = 2048
MAX_PLATFORM = 100
#: How long the hash index change log is kept; a process idle longer reloads its index.
INDEX_CHANGES_KEPT = timedelta(days=7)


@dataclass(frozen=True)
class ItemMatch:
    """One matched item, as its owner sees it."""

    content_id: str
    case_id: str
    match_type: str  # sha256 or pdq
    distance: int
    status: str  # of the item after the hit
    sighting_id: str | None  # None when this URL was already known to be online
    draft_referral_id: str | None


@dataclass(frozen=True)
class MatchOutcome:
    """What a caller learns: the items it may see, or only that something known matched."""

    matched: bool
    owner_notified: bool
    low_quality: bool = False
    hit_id: str | None = None
    matches: list[ItemMatch] = field(default_factory=list)


def report_hit(cmd: ReportHit, uow: UnitOfWork, actor: Actor, index: SharedIndex) -> MatchOutcome:
    """Match a monitoring hit. A miss records nothing, unless its PDQ was of too low a quality
    to match automatically: then it is kept for a person to review."""
    _check_hit(cmd, actor)
    pdq = bytes.fromhex(cmd.pdq) if cmd.pdq is not None else None
    with uow:
        session = uow.session
        now = uow.clock.now()
        index.refresh(session)
        found = index.index.match(sha256=cmd.sha256, pdq=pdq, quality=cmd.pdq_quality)
        matched = _lock_matchable(session, found)
        if not matched:
            if pdq is not None and (cmd.pdq_quality or 0) < MIN_QUALITY:
                hit = _keep_low_quality(session, cmd, actor, now)
                uow.commit()
                return MatchOutcome(False, False, low_quality=True, hit_id=hit.id)
            return MatchOutcome(False, False)
        results = _on_match(session, cmd, actor, matched, now)
        visible = set(
            session.scalars(
                select(ContentItem.id).where(
                    ContentItem.id.in_([item.id for item, _, _ in matched]), content_filter(actor)
                )
            )
        )
        uow.commit()
        shown = []
        for result, referral in results:
            if result.content_id not in visible:
                continue
            if referral is not None and not can_see_referral(actor, referral):
                result = replace(result, draft_referral_id=None)
            shown.append(result)
        return MatchOutcome(True, True, matches=shown)


def _check_hit(cmd: ReportHit, actor: Actor) -> None:
    if actor.org_kind not in REPORTER_KINDS:
        raise Forbidden("hits are reported by a support center or the standards commission")
    errors: dict[str, list[str]] = {}
    if cmd.sha256 is None and cmd.pdq is None:
        errors["sha256"] = ["give sha256, pdq with pdq_quality, or both"]
    if cmd.sha256 is not None and not is_sha256_hex(cmd.sha256):
        errors["sha256"] = ["64 lowercase hex characters"]
    if cmd.pdq is not None and not is_pdq_hex(cmd.pdq):
        errors["pdq"] = ["64 hex characters"]
    if (cmd.pdq is None) != (cmd.pdq_quality is None):
        errors["pdq_quality" if cmd.pdq is not None else "pdq"] = [
            "pdq and pdq_quality go together"
        ]
    if cmd.pdq_quality is not None and not is_quality(cmd.pdq_quality):
        errors["pdq_quality"] = ["an integer from 0 to 100"]
    if not cmd.url.strip() or len(cmd.url) > MAX_URL:
        errors["url"] = [f"1 to {MAX_URL} characters"]
    if not cmd.platform.strip() or len(cmd.platform) > MAX_PLATFORM:
        errors["platform"] = [f"1 to {MAX_PLATFORM} characters"]
    if errors:
        raise InvalidInput("the hit is not valid", errors=errors)


def _lock_matchable(session: Session, found: list[Match]) -> list[tuple[ContentItem, Case, Match]]:
    """The matched items, locked, whose case may still match: the database has the last word
    over a process's index (a case closed a moment ago is not matched)."""
    if not found:
        return []
    by_id = {match.item_id: match for match in found}
    rows = session.execute(
        select(ContentItem, Case)
        .join(Case, Case.id == ContentItem.case_id)
        .where(ContentItem.id.in_(sorted(by_id)))
        .order_by(ContentItem.id)
        .with_for_update(of=ContentItem)
    ).all()
    return [(item, case, by_id[item.id]) for item, case in rows if is_matchable_case(case)]


def _keep_low_quality(
    session: Session, cmd: ReportHit, actor: Actor, now: datetime
) -> MonitoringHit:
    hit = MonitoringHit(
        id=new_id(),
        reported_by_org=actor.org,
        reason=LOW_QUALITY,
        sha256=cmd.sha256,
        pdq=cmd.pdq.lower() if cmd.pdq else None,
        pdq_quality=cmd.pdq_quality,
        url=cmd.url,
        platform=cmd.platform,
        received_at=now,
    )
    session.add(hit)
    return hit


def _on_match(
    session: Session,
    cmd: ReportHit,
    actor: Actor,
    matched: list[tuple[ContentItem, Case, Match]],
    now: datetime,
) -> list[tuple[ItemMatch, Referral | None]]:
    """Record the sightings; redraft the takedown of every item that had been removed."""
    reappeared: dict[str, list[ContentItem]] = defaultdict(list)  # by the takedown to redo
    earlier: dict[str, Referral] = {}
    outcome: dict[str, tuple[str, str | None]] = {}  # item id -> (previous status, sighting)
    for item, case, _match in matched:
        previous = item.status
        sighting_id = None
        if not _already_online_at(session, item.id, cmd.url):
            sighting = item.record_sighting(
                sighting_id=new_id(),
                owner_org=case.owner_org,
                by_org=actor.org,
                url=cmd.url,
                platform=cmd.platform,
                seen_at=now,
                state="online",
                removed_at=None,
                now=now,
            )
            session.add(sighting)
            sighting_id = sighting.id
        outcome[item.id] = (previous, sighting_id)
        if previous == "removed":
            last = _last_takedown(session, item.id)
            if last is not None:
                earlier[last.id] = last
                reappeared[last.id].append(item)
    drafts: dict[str, Referral] = {}
    for based_on, items in reappeared.items():
        last = earlier[based_on]
        draft = Referral.create(
            referral_id=new_id(),
            case_id=last.case_id,
            referral_type="takedown",
            from_org=last.owner_org,
            to_org=last.to_org,
            owner_org=last.owner_org,
            content_ids=[item.id for item in items],
            share_victim_identity=False,
            legal_basis=last.legal_basis,
            note=None,
            based_on=last.id,
            victim_age_band=None,
            harm_types=None,
            draft=True,
            due_hours=None,
            now=now,
        )
        session.add(draft)
        for item in items:
            drafts[item.id] = draft
    results: list[tuple[ItemMatch, Referral | None]] = []
    for item, case, match in matched:
        previous, sighting_id = outcome[item.id]
        redraft = drafts.get(item.id)
        match_type = "sha256" if match.distance == 0 and item.sha256 == cmd.sha256 else "pdq"
        if sighting_id is not None:  # a URL already known online was announced when first seen
            item.record(
                ContentReuploadDetected(
                    subject=item.id,
                    case_id=item.case_id,
                    owner_org=case.owner_org,
                    content_id=item.id,
                    sighting_id=sighting_id,
                    previous_status=previous,
                    status=item.status,
                    match_type=match_type,
                    distance=match.distance,
                    detected_by_org=actor.org,
                    draft_referral_id=redraft.id if redraft else None,
                )
            )
        results.append(
            (
                ItemMatch(
                    content_id=item.id,
                    case_id=item.case_id,
                    match_type=match_type,
                    distance=match.distance,
                    status=item.status,
                    sighting_id=sighting_id,
                    draft_referral_id=redraft.id if redraft else None,
                ),
                redraft,
            )
        )
    # Back at work: a reappeared item takes its case out of monitoring (after the hit's event).
    for item, case, _match in matched:
        if outcome[item.id][0] == "removed" and case.status == "monitoring":
            case.change(now=now, status="active")
    return results


def _already_online_at(session: Session, content_id: str, url: str) -> bool:
    stmt = select(Sighting.id).where(
        Sighting.content_id == content_id, Sighting.url == url, Sighting.state == "online"
    )
    return session.scalars(stmt.limit(1)).first() is not None


def _last_takedown(session: Session, content_id: str) -> Referral | None:
    """The latest takedown referral that named the item: the latest sent one, else a draft."""
    stmt = (
        select(Referral)
        .join(ReferralContent, ReferralContent.referral_id == Referral.id)
        .where(ReferralContent.content_id == content_id, Referral.type == "takedown")
        .order_by(Referral.sent_at.is_(None), Referral.created_at.desc(), Referral.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


# ---- the sweeper ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepReport:
    overdue: list[str]  # referral ids announced overdue in this pass
    monitoring: list[str]  # case ids moved to monitoring in this pass

    def as_dict(self) -> dict[str, list[str]]:
        return {"overdue": self.overdue, "monitoring": self.monitoring}


def sweep(cmd: Sweep, uow: UnitOfWork) -> SweepReport:
    """One pass. Safe to run in several processes at once: each late referral is claimed by
    exactly one of them (an upsert on its clock row), and announced in the same transaction."""
    overdue = _sweep_overdue(cmd, uow)
    monitoring = _sweep_cleared_cases(cmd, uow)
    with uow:
        prune_changes(uow.session, uow.clock.now() - INDEX_CHANGES_KEPT)
        uow.commit()
    return SweepReport(overdue, monitoring)


def _sweep_overdue(cmd: Sweep, uow: UnitOfWork) -> list[str]:
    announced: list[str] = []
    with uow:
        session = uow.session
        now = uow.clock.now()
        late = session.scalars(
            select(Referral)
            .outerjoin(ReferralClock, ReferralClock.referral_id == Referral.id)
            .where(
                Referral.due_at.is_not(None),
                Referral.due_at < now,
                Referral.status.in_(OPEN_STATUSES),
                or_(Referral.business_status.is_(None), Referral.business_status != REMOVED_CODE),
                ReferralClock.overdue_at.is_(None),
            )
            .order_by(Referral.id)
            .limit(cmd.limit)
        ).all()
        for referral in late:
            assert referral.due_at is not None
            if not _claim_overdue(session, referral, now):
                continue  # another sweeper announced it
            uow.announce(
                ReferralOverdue(
                    subject=referral.id,
                    case_id=referral.case_id or "",
                    owner_org=referral.owner_org,
                    referral_id=referral.id,
                    from_org=referral.from_org,
                    to_org=referral.to_org,
                    referral_type=referral.type,
                    status=referral.status,
                    business_status=referral.business_status,
                    due_at=referral.due_at,
                    overdue_at=now,
                )
            )
            announced.append(referral.id)
        uow.commit()
    return announced


def _claim_overdue(session: Session, referral: Referral, now: datetime) -> bool:
    """Set the referral's overdue marker unless it is set: True for the one sweeper that did.

    INSERT .. ON CONFLICT DO UPDATE .. WHERE overdue_at IS NULL: a second sweeper racing on
    PostgreSQL waits for the first one's commit, then finds the marker set and gets no row.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(ReferralClock).values(
        referral_id=referral.id, due_at=referral.due_at, sent_at=referral.sent_at, overdue_at=now
    )
    claim = stmt.on_conflict_do_update(
        index_elements=[ReferralClock.referral_id],
        set_={"overdue_at": stmt.excluded.overdue_at, "due_at": stmt.excluded.due_at},
        where=ReferralClock.overdue_at.is_(None),
    ).returning(ReferralClock.referral_id)
    return session.execute(claim).first() is not None


def _sweep_cleared_cases(cmd: Sweep, uow: UnitOfWork) -> list[str]:
    """Cases whose every item is removed move to `monitoring` (a backstop: the removal itself
    may already have done it)."""
    moved: list[str] = []
    with uow:
        session = uow.session
        now = uow.clock.now()
        not_removed = select(ContentItem.id).where(
            ContentItem.case_id == Case.id, ContentItem.status != "removed"
        )
        has_items = select(ContentItem.id).where(ContentItem.case_id == Case.id)
        cases = session.scalars(
            select(Case)
            .where(
                Case.status.in_(("open", "active")),
                has_items.exists(),
                ~not_removed.exists(),
            )
            .order_by(Case.id)
            .limit(cmd.limit)
            .with_for_update(skip_locked=True)
        ).all()
        for case in cases:
            if start_monitoring_if_cleared(session, case, now):
                moved.append(case.id)
        uow.commit()
    return moved


# ---- re-checks -----------------------------------------------------------------------------


def record_monitoring_check(cmd: RecordCheck, uow: UnitOfWork, actor: Actor) -> MonitoringPlan:
    """The owning center re-checked a monitored item and did not find it: the next is planned."""
    if actor.org_kind != "support_center":
        raise Forbidden("re-checks are recorded by the center that owns the case")
    with uow:
        session = uow.session
        now = uow.clock.now()
        plan = session.scalars(
            select(MonitoringPlan)
            .join(Case, Case.id == MonitoringPlan.case_id)
            .where(
                MonitoringPlan.content_id == cmd.content_id,
                MonitoringPlan.owner_org == actor.org,
                Case.owner_org == actor.org,
            )
            .with_for_update(of=MonitoringPlan)
        ).one_or_none()
        if plan is None or not _in_monitoring(session, plan.case_id):
            raise NotFound("no monitored content item of yours with this id")
        if plan.next_check_at is None:
            raise InvalidInput(
                "every re-check of this item is done",
                errors={"content_id": ["no re-check is due"]},
            )
        checked_at = cmd.checked_at or now
        if checked_at > now + timedelta(minutes=5):
            raise InvalidInput(
                "checked in the future", errors={"checked_at": ["must not be in the future"]}
            )
        record_check(plan, checked_at)
        uow.commit()
        return plan


def _in_monitoring(session: Session, case_id: str) -> bool:
    return session.scalar(select(Case.status).where(Case.id == case_id)) == "monitoring"
