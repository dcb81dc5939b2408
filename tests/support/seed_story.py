"""The seed story, replayed through the HTTP API as the agencies would have lived it.

Eight months of a city's digital sex crime victim support center (see shared/seed): 270 victims,
2,194 photos and videos deleted (over 54 % of them involving minors), 4,926 support actions in
all, 37 % of the victims in their 20s, 18 % in their 30s, over 15 % under 18, and seven
offenders caught together with the police and the standards commission.

`StoryWorld` is an app on the test database whose clock the story moves (tokens still live in
real time), with the agencies of the story. `replay_seed_story(world, start)` builds the story's
timeline (every case opened, its consents, content, takedown and investigation referrals with
their updates, and its support services) and plays it in time order, each step as one HTTP
request at its moment. Counts go where the contract has them: a deletion-support service
carries the number of items deleted in it, a therapy service the number of sessions.

`StoryWorld` also serves smaller tests: `open_case`, `register_content`, `take_down`, ... at
any moment the test picks (choose a far-away period, so other tests' data stays out of it).
"""

import random
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from coordination.app import create_app
from coordination.config import Settings
from coordination.runtime import runtime
from events.broker import EmbeddedBroker
from tests.support.agencies import Agencies, Agency
from tests.support.stats_stream import stats_stream, wait_until_rolled_up

# ---- the seed's figures ------------------------------------------------------------------

MONTHS = 8
VICTIMS = 270
# 101/270 = 37.4 % in their 20s, 49/270 = 18.1 % in their 30s, 42/270 = 15.6 % under 18.
AGE_BANDS = {
    "under_14": 12,
    "14_17": 30,
    "18_19": 25,
    "20s": 101,
    "30s": 49,
    "40s": 22,
    "50_plus": 10,
    "unknown": 21,
}
MINOR_BANDS = ("under_14", "14_17")
ITEMS_DELETED = 2194
ITEMS_INVOLVING_MINORS = 1190  # 54.2 % of the deleted items
# 4,926 support actions in all: the deletions, then the other services, as (cases, count each).
OTHER_SERVICES = {
    "consultation": (54, 30),  # 1,620
    "psychological_therapy": (34, 18),  # 612
    "legal_support": (53, 6),  # 318
    "investigation_support": (26, 7),  # 182
}
SUPPORT_ACTIONS = ITEMS_DELETED + sum(cases * each for cases, each in OTHER_SERVICES.values())
INVESTIGATIONS = 30
ARRESTS = 7
CONTRACT_CHECKS = 3


class StoryClock:
    """The app's clock, moved by the story."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@dataclass
class Ref:
    id: str
    version: int


@dataclass
class StoryWorld:
    app: Flask
    clock: StoryClock
    center: Agency
    commission: Agency
    police: Agency
    auditor: Agency
    # Each kind of request is checked against openapi.yaml the first few times, not thousands.
    checked: dict[str, int] = field(default_factory=dict)
    # Support actions are counted from the stats consumer's rollup: a world that records
    # services runs it (story_world's broker), and `stats` waits until it has applied them.
    streamed: bool = False
    services: list[str] = field(default_factory=list)

    def post(self, by: Agency, kind: str, path: str, **kwargs: Any) -> Any:
        seen = self.checked.get(kind, 0)
        self.checked[kind] = seen + 1
        return by.post(path, check_contract=seen < CONTRACT_CHECKS, **kwargs)

    @contextmanager
    def at(self, moment: datetime) -> Iterator[None]:
        previous = self.clock.at
        self.clock.at = moment
        try:
            yield
        finally:
            self.clock.at = previous

    # ---- one agency action each, at the clock's moment ----------------------------------

    def open_case(self, age_band: str, harm_types: list[str] | None = None) -> str:
        response = self.post(
            self.center,
            "case",
            "/v1/cases",
            json={
                "harm_types": harm_types or ["non_consensual_distribution"],
                "victim": {"age_band": age_band},
            },
        )
        return str(_created(response)["id"])

    def grant_consent(self, case_id: str, purpose: str, minor: bool) -> None:
        _created(
            self.post(
                self.center,
                "consent",
                f"/v1/cases/{case_id}/consents",
                json={"purpose": purpose, "granted_by": "guardian" if minor else "victim"},
            )
        )

    def register_content(self, case_id: str, involves_minor: bool, rng: random.Random) -> str:
        kind = "video" if rng.random() < 0.3 else "image"
        item: dict[str, Any] = {
            "kind": kind,
            "sha256": f"{rng.getrandbits(256):064x}",
            "involves_minor": involves_minor,
        }
        if kind == "image":
            item |= {"pdq": f"{rng.getrandbits(256):064x}", "pdq_quality": 90}
        response = self.post(self.center, "content", f"/v1/cases/{case_id}/content", json=item)
        return str(_created(response)["id"])

    def refer(self, case_id: str, referral_type: str, to: Agency, content_ids: list[str]) -> Ref:
        response = self.post(
            self.center,
            "referral",
            "/v1/referrals",
            json={
                "case_id": case_id,
                "type": referral_type,
                "to_org": to.org,
                "content_ids": content_ids,
            },
        )
        return Ref(str(_created(response)["id"]), _version(response))

    def update(self, by: Agency, ref: Ref, **body: Any) -> None:
        response = self.post(
            by,
            "update",
            f"/v1/referrals/{ref.id}/updates",
            json={"occurred_at": _iso(self.clock.at), **body},
            headers={"If-Match": f'"{ref.version}"'},
        )
        _created(response)
        ref.version = _version(response)

    def record_service(self, case_id: str, service_type: str, count: int) -> None:
        created = _created(
            self.post(
                self.center,
                "service",
                f"/v1/cases/{case_id}/services",
                json={"type": service_type, "delivered_at": _iso(self.clock.at), "count": count},
            )
        )
        self.services.append(str(created["id"]))

    def stats(self, start: datetime, end: datetime, **params: str) -> dict[str, Any]:
        if self.services:
            assert self.streamed, "services recorded: pass the broker to story_world"
            wait_until_rolled_up(runtime(self.app), self.services)
        query = "&".join(f"{k}={v}" for k, v in {"from": _iso(start), "to": _iso(end)}.items())
        extra = "".join(f"&{k}={v}" for k, v in params.items())
        response = self.auditor.get(f"/v1/stats?{query.replace('+', '%2B')}{extra}")
        assert response.status_code == 200, response.get_data(as_text=True)
        body: dict[str, Any] = response.json  # type: ignore[assignment]
        return body


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), (
        response.request.method,
        response.request.path,
        response.status_code,
        response.get_data(as_text=True),
    )
    body: dict[str, Any] = response.json
    return body


def _version(response: Any) -> int:
    etag = response.headers.get("ETag")
    if etag:
        return int(etag.strip('W/"'))
    body = response.json
    return int(body.get("referral", body)["version"])


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@contextmanager
def story_world(
    settings: Settings, start: datetime, broker: EmbeddedBroker | None = None
) -> Iterator[StoryWorld]:
    """An app on the test database with the story's clock, and the story's agencies; with a
    broker, the relay and the stats consumer run next to it (needed to count services)."""
    clock = StoryClock(start)
    app = create_app(settings, clock=clock)
    # SQLite: one idle connection kept open for the story, so the per-request connections
    # (NullPool) are never the last to close, which would checkpoint and remove the WAL each
    # time (most of a request's cost). Nothing is held: no transaction is open on it.
    keeper = (
        runtime(app).engine.raw_connection() if settings.database_url.startswith("sqlite") else None
    )
    try:
        with ExitStack() as stack:
            agencies = Agencies(app.test_client(), runtime(app))
            if broker is not None:
                stack.enter_context(stats_stream(runtime(app), settings, broker))
            yield StoryWorld(
                streamed=broker is not None,
                app=app,
                clock=clock,
                center=agencies.new("support_center"),
                commission=agencies.new("standards_commission"),
                police=agencies.new("police"),
                auditor=agencies.new("auditor", scopes="stats.read"),
            )
    finally:
        if keeper is not None:
            keeper.close()
        runtime(app).engine.dispose()


# ---- the story -------------------------------------------------------------------------------


@dataclass
class CasePlan:
    number: int
    age_band: str
    opened_at: datetime
    items: int
    removal_hours: int
    services: dict[str, int] = field(default_factory=dict)
    investigation: bool = False
    arrest: bool = False

    @property
    def minor(self) -> bool:
        return self.age_band in MINOR_BANDS


@dataclass
class Story:
    start: datetime
    end: datetime
    cases: list[CasePlan]

    @property
    def median_hours_takedown_to_removal(self) -> float:
        """What the statistics must give back: every item of a case shares its takedown."""
        hours = sorted(h for case in self.cases for h in [case.removal_hours] * case.items)
        middle = len(hours) // 2
        value = hours[middle] if len(hours) % 2 else (hours[middle - 1] + hours[middle]) / 2
        return round(value, 1)


def plan_seed_story(start: datetime, seed: int = 2018) -> Story:
    """Who comes when, with what: shaped to the seed's figures exactly."""
    rng = random.Random(seed)
    bands = [band for band, n in AGE_BANDS.items() for _ in range(n)]
    rng.shuffle(bands)
    end = _add_months(start, MONTHS)
    # Cases open over the first seven and a half months, so every one's work ends in the period.
    window = (end - start) - timedelta(days=15)
    plans = [
        CasePlan(
            number=i,
            age_band=band,
            opened_at=start + window * (i + rng.random() * 0.9) / VICTIMS,
            items=0,
            removal_hours=rng.randint(2, 60),
        )
        for i, band in enumerate(bands)
    ]
    minors = [p for p in plans if p.minor]
    adults = [p for p in plans if not p.minor]
    _spread(minors, ITEMS_INVOLVING_MINORS)
    _spread(adults, ITEMS_DELETED - ITEMS_INVOLVING_MINORS)
    for service_type, (n_cases, each) in OTHER_SERVICES.items():
        for plan in rng.sample(plans, n_cases):
            plan.services[service_type] = each
    investigated = rng.sample(plans, INVESTIGATIONS)
    for plan in investigated:
        plan.investigation = True
    for plan in investigated[:ARRESTS]:
        plan.arrest = True
    return Story(start, end, plans)


def _spread(plans: list[CasePlan], items: int) -> None:
    each, extra = divmod(items, len(plans))
    for i, plan in enumerate(plans):
        plan.items = each + (1 if i < extra else 0)


def _add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    return moment.replace(year=moment.year + month // 12, month=month % 12 + 1)


Step = tuple[datetime, int, Callable[[], None]]


def replay(world: StoryWorld, story: Story, seed: int = 2018) -> int:
    """Play the story through the API in time order; returns how many steps (requests) it took."""
    rng = random.Random(seed + 1)
    steps: list[Step] = []
    for plan in story.cases:
        steps += _case_steps(world, plan, rng)
    steps.sort(key=lambda step: (step[0], step[1]))
    for moment, _, action in steps:
        world.clock.at = moment
        action()
    return len(steps)


def _case_steps(world: StoryWorld, plan: CasePlan, rng: random.Random) -> list[Step]:
    """One case's life as timed steps; later steps read what earlier ones created."""
    state: dict[str, Any] = {"items": []}
    t0 = plan.opened_at
    order = plan.number * 10_000
    steps: list[Step] = []

    def at(offset: timedelta, action: Callable[[], None]) -> None:
        steps.append((t0 + offset, order + len(steps), action))

    def open_case() -> None:
        state["case"] = world.open_case(plan.age_band)

    at(timedelta(0), open_case)
    at(
        timedelta(minutes=5),
        lambda: world.grant_consent(state["case"], "share_with_standards_commission", plan.minor),
    )
    for n in range(plan.items):

        def register(n: int = n) -> None:
            state["items"].append(world.register_content(state["case"], plan.minor, rng))

        at(timedelta(minutes=10, seconds=n), register)

    def send_takedown() -> None:
        state["takedown"] = world.refer(
            state["case"], "takedown", world.commission, list(state["items"])
        )

    sent = timedelta(hours=1)
    at(sent, send_takedown)
    at(
        sent + timedelta(minutes=30),
        lambda: world.update(world.commission, state["takedown"], status="accepted"),
    )
    at(
        sent + timedelta(minutes=40),
        lambda: world.update(
            world.commission,
            state["takedown"],
            status="in_progress",
            business_status="deletion_ordered",
        ),
    )
    removed = sent + timedelta(hours=plan.removal_hours)
    at(
        removed,
        lambda: world.update(
            world.commission, state["takedown"], status="completed", business_status="removed"
        ),
    )
    at(
        removed + timedelta(hours=1),
        lambda: world.record_service(state["case"], "deletion_support", plan.items),
    )
    for day, (service_type, count) in enumerate(sorted(plan.services.items()), start=2):
        at(
            timedelta(days=day),
            lambda s=service_type, c=count: world.record_service(state["case"], s, c),
        )
    if plan.investigation:
        at(
            timedelta(minutes=6),
            lambda: world.grant_consent(state["case"], "share_with_police", plan.minor),
        )

        def send_investigation() -> None:
            state["investigation"] = world.refer(state["case"], "investigation", world.police, [])

        at(timedelta(hours=2), send_investigation)
        at(
            timedelta(hours=5),
            lambda: world.update(world.police, state["investigation"], status="accepted"),
        )
        at(
            timedelta(days=1),
            lambda: world.update(
                world.police,
                state["investigation"],
                status="in_progress",
                business_status="suspect_identified",
            ),
        )
        if plan.arrest:
            at(
                timedelta(days=9),
                lambda: world.update(
                    world.police, state["investigation"], business_status="arrested"
                ),
            )
    return steps
