"""The takedown clock (issue 7): due in 24 h, `referral.overdue` exactly once, time to removal,
and the monitoring schedule once every item of a case is removed."""

import threading
from datetime import datetime, timedelta

import pytest

from coordination.runtime import Runtime
from services.clock import Clock
from services.monitoring.commands import Sweep
from services.monitoring.handlers import SweepReport, sweep
from services.monitoring.models import ReferralClock
from services.monitoring.schedule import add_months
from services.unit_of_work import UnitOfWork
from tests.support.agencies import Agencies, Agency
from tests.support.monitoring import (
    check_contract,
    complete_removal,
    events,
    later,
    open_case,
    register,
    send_takedown,
)


def sweep_at(rt: Runtime, clock: Clock) -> SweepReport:
    return sweep(Sweep(), UnitOfWork(rt.session_factory, clock))


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def center(agencies: Agencies) -> Agency:
    return agencies.new("support_center")


@pytest.fixture
def commission(agencies: Agencies) -> Agency:
    return agencies.new("standards_commission")


def test_takedown_to_commission_is_due_24_hours_after_sent(
    rt: Runtime, center: Agency, commission: Agency
) -> None:
    case_id = open_case(rt, center)
    item = register(center, case_id)

    referral = send_takedown(center, commission, case_id, [item["id"]])

    assert parse(referral["due_at"]) - parse(referral["sent_at"]) == timedelta(hours=24)


def test_sweep_announces_late_takedown_overdue_once_to_both_sides(
    rt: Runtime, center: Agency, commission: Agency
) -> None:
    case_id = open_case(rt, center)
    referral = send_takedown(center, commission, case_id, [register(center, case_id)["id"]])

    early = sweep_at(rt, later(hours=23))
    first = sweep_at(rt, later(hours=25))
    again = sweep_at(rt, later(hours=26))

    assert referral["id"] not in early.overdue
    assert referral["id"] in first.overdue
    assert referral["id"] not in again.overdue
    [overdue] = events(rt, subject=referral["id"], type_="referral.overdue")
    assert (overdue.data["from_org"], overdue.data["to_org"]) == (center.org, commission.org)
    assert overdue.data["due_at"] == referral["due_at"]
    assert overdue.key == case_id


def test_two_sweepers_racing_announce_overdue_exactly_once(
    rt: Runtime, center: Agency, commission: Agency
) -> None:
    case_id = open_case(rt, center)
    referral = send_takedown(center, commission, case_id, [register(center, case_id)["id"]])
    start = threading.Barrier(2)
    reports: list[SweepReport] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            reports.append(sweep_at(rt, later(hours=25)))
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert sum(referral["id"] in report.overdue for report in reports) == 1
    assert len(events(rt, subject=referral["id"], type_="referral.overdue")) == 1


def test_removed_takedown_is_never_overdue(rt: Runtime, center: Agency, commission: Agency) -> None:
    case_id = open_case(rt, center)
    referral = send_takedown(center, commission, case_id, [register(center, case_id)["id"]])
    complete_removal(commission, referral["id"])

    report = sweep_at(rt, later(hours=30))

    assert referral["id"] not in report.overdue
    assert events(rt, subject=referral["id"], type_="referral.overdue") == []


def test_time_to_removal_is_kept_per_referral(
    rt: Runtime, center: Agency, commission: Agency
) -> None:
    case_id = open_case(rt, center)
    referral = send_takedown(center, commission, case_id, [register(center, case_id)["id"]])

    done = complete_removal(commission, referral["id"])

    with rt.session_factory() as session:
        clock = session.get(ReferralClock, referral["id"])
        assert clock is not None
        assert clock.sent_at == parse(referral["sent_at"])
        assert clock.removed_at is not None
        assert clock.sent_at <= clock.removed_at <= parse(done["updated_at"])
        assert clock.seconds_to_removal == int((clock.removed_at - clock.sent_at).total_seconds())


def test_case_moves_to_monitoring_when_its_last_item_is_removed(
    rt: Runtime, center: Agency, commission: Agency
) -> None:
    case_id = open_case(rt, center)
    first, second = register(center, case_id), register(center, case_id)
    one = send_takedown(center, commission, case_id, [first["id"]])
    two = send_takedown(center, commission, case_id, [second["id"]])

    complete_removal(commission, one["id"])
    assert center.get(f"/v1/cases/{case_id}").json["status"] == "active"
    complete_removal(commission, two["id"])

    assert center.get(f"/v1/cases/{case_id}").json["status"] == "monitoring"
    changed = [e.data for e in events(rt, subject=case_id, type_="case.updated")]
    assert changed[-1]["status"] == "monitoring"


def test_sweep_moves_cleared_case_missed_by_its_removal(
    rt: Runtime, center: Agency, commission: Agency
) -> None:
    from services.content.models import ContentItem

    case_id = open_case(rt, center)
    item = register(center, case_id)
    send_takedown(center, commission, case_id, [item["id"]])
    with rt.uow() as uow:  # removed without a takedown update (e.g. recorded before issue 7)
        stored = uow.session.get(ContentItem, item["id"])
        assert stored is not None
        stored.removed(owner_org=center.org, referral_id=None, now=stored.updated_at)
        uow.commit()

    report = sweep_at(rt, later())

    assert case_id in report.monitoring
    assert center.get(f"/v1/cases/{case_id}").json["status"] == "monitoring"


def test_monitoring_due_lists_items_every_6_months_for_3_years(
    rt: Runtime, agencies: Agencies, center: Agency, commission: Agency
) -> None:
    case_id = open_case(rt, center)
    item = register(center, case_id)
    referral = send_takedown(center, commission, case_id, [item["id"]])
    complete_removal(commission, referral["id"])
    started = parse(center.get(f"/v1/cases/{case_id}").json["updated_at"])

    def due(until: datetime) -> list[dict[str, object]]:
        response = center.get(
            "/v1/monitoring/due", query_string={"until": until.isoformat(), "limit": "200"}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        check_contract(response, "/v1/monitoring/due", "get")
        return [entry for entry in response.json["items"] if entry["case_id"] == case_id]

    assert due(add_months(started, 6) - timedelta(minutes=1)) == []
    [first] = due(add_months(started, 6) + timedelta(minutes=1))
    assert first["content_id"] == item["id"]
    assert (first["check_number"], first["checks_total"]) == (1, 6)
    assert first["sha256"] == item["sha256"]
    assert parse(str(first["monitoring_ends_at"])) == add_months(started, 36)
    for number in range(1, 7):
        checked = center.post("/v1/monitoring/checks", json={"content_id": item["id"]})
        assert checked.status_code == 200, checked.get_data(as_text=True)
        check_contract(checked, "/v1/monitoring/checks")
        assert checked.json["checks_done"] == number
    assert checked.json["next_check_at"] is None
    assert due(add_months(started, 40)) == []
    other = agencies.new("support_center")
    foreign = other.post("/v1/monitoring/checks", json={"content_id": item["id"]})
    assert foreign.status_code == 404
    check_contract(foreign, "/v1/monitoring/checks")
    refused = commission.get("/v1/monitoring/due")
    assert refused.status_code == 403
    check_contract(refused, "/v1/monitoring/due", "get")


def test_monitoring_due_is_empty_for_a_case_back_in_work(
    rt: Runtime, center: Agency, commission: Agency
) -> None:
    case_id = open_case(rt, center)
    item = register(center, case_id)
    complete_removal(commission, send_takedown(center, commission, case_id, [item["id"]])["id"])

    hit = center.post(
        "/v1/content/matches",
        json={"sha256": item["sha256"], "url": "https://again.test/1", "platform": "again"},
    )

    assert hit.json["matches"][0]["status"] == "reappeared"
    assert center.get(f"/v1/cases/{case_id}").json["status"] == "active"
    response = center.get(
        "/v1/monitoring/due", query_string={"until": "2099-01-01T00:00:00Z", "limit": "200"}
    )
    assert case_id not in {entry["case_id"] for entry in response.json["items"]}
