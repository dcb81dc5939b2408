"""The monthly access review: identity reads, refusals, busiest clients, out-of-hours access
(Asia/Seoul) and unusual days, per org."""

import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from coordination.audit_cli import audit
from coordination.runtime import Runtime
from tests.integration.test_audit_api import append, draft, new_case
from tests.integration.test_audit_verify import cli_env  # noqa: F401
from tests.support.agencies import Agencies

SEOUL = ZoneInfo("Asia/Seoul")


def seoul(day: int, hour: int) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=SEOUL)


@pytest.fixture
def org() -> str:
    return f"police-{uuid.uuid4().hex[:8]}"


def month_of(org: str, rt: Runtime, case_id: str | None = None) -> None:
    entries = [
        # Tuesday 5 March, office hours: three identity reads by one client.
        *(
            draft(org, at=seoul(5, 10), action="victim.read", client_id="c-1", case_id=case_id)
            for _ in range(3)
        ),
        # Tuesday 20:00 and Saturday 11:00: outside office hours; the Saturday one refused.
        draft(org, at=seoul(5, 20), client_id="c-2", case_id=case_id),
        draft(org, at=seoul(9, 11), outcome="denied", client_id="c-2", case_id=case_id),
        # Wednesday 20 March: a burst of identity reads far above the org's usual day.
        *(
            draft(org, at=seoul(20, 14), action="victim.read", client_id="c-1", case_id=case_id)
            for _ in range(12)
        ),
        # 1 April 00:30 Seoul is still 31 March in UTC: not in March's review.
        draft(org, at=datetime(2024, 4, 1, 0, 30, tzinfo=SEOUL), client_id="c-3"),
    ]
    append(rt, entries)


def review_of(body: dict[str, object], org: str) -> dict[str, object]:
    (found,) = [row for row in body["orgs"] if row["org"] == org]  # type: ignore[attr-defined]
    return found  # type: ignore[no-any-return]


def test_review_counts_identity_reads_refusals_and_out_of_hours_access(
    agencies: Agencies, rt: Runtime, org: str
) -> None:
    month_of(org, rt)
    body = agencies.new("auditor").get("/v1/audit/review?month=2024-03").json
    row = review_of(body, org)
    assert row["entries"] == 17
    assert row["identity_reads"] == 15
    assert row["denied"] == 1
    assert row["outside_office_hours"] == 2
    assert row["busiest_clients"] == [
        {"client_id": "c-1", "entries": 15},
        {"client_id": "c-2", "entries": 2},
    ]
    assert body["from"] == "2024-02-29T15:00:00.000000Z"


def test_review_flags_a_day_far_above_the_orgs_median(
    agencies: Agencies, rt: Runtime, org: str
) -> None:
    month_of(org, rt)
    row = review_of(agencies.new("auditor").get("/v1/audit/review?month=2024-03").json, org)
    assert row["unusual"] == [
        {"date": "2024-03-20", "kind": "identity_reads", "count": 12, "median": 0}
    ]


def test_support_center_reviews_only_access_to_its_own_cases(
    agencies: Agencies, rt: Runtime, org: str
) -> None:
    center = agencies.new("support_center")
    case_id = new_case(rt, center.org)
    append(rt, [draft(org, at=seoul(12, 10), action="victim.read", case_id=case_id)])
    append(rt, [draft(org, at=seoul(12, 10), action="victim.read")])
    body = center.get("/v1/audit/review?month=2024-03").json
    assert review_of(body, org)["identity_reads"] == 1


@pytest.mark.parametrize(
    "month", ["2024-13", "2024-3", "", "march", "0000-01", "1000-01", "9999-12"]
)
def test_review_refuses_a_bad_month(agencies: Agencies, month: str) -> None:
    assert agencies.new("auditor").get(f"/v1/audit/review?month={month}").status_code == 422


@pytest.mark.usefixtures("cli_env")
def test_review_command_prints_the_same_review(agencies: Agencies, rt: Runtime, org: str) -> None:
    month_of(org, rt)
    result = CliRunner().invoke(audit, ["review", "--month", "2024-03"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert review_of(json.loads(result.output), org)["identity_reads"] == 15
