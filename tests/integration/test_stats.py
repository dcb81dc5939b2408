"""GET /v1/stats: the published figures of a period, their shape, CSV and who may read them."""

import csv
import io

from tests.support.agencies import Agencies

EMPTY_YEAR = "from=1990-01-01&to=1990-12-31"


def test_stats_of_an_empty_period_are_zeros_not_suppressed(agencies: Agencies) -> None:
    auditor = agencies.new("auditor", scopes="stats.read")

    response = auditor.get(f"/v1/stats?{EMPTY_YEAR}")

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body is not None
    assert body["period"] == {"from": "1990-01-01T00:00:00Z", "to": "1991-01-01T00:00:00Z"}
    assert body["cases_opened"] == 0
    assert body["victims_served"] == 0
    assert body["content_removed"] == 0
    assert body["support_actions"]["total"] == 0
    assert set(body["support_actions"]["by_type"]) == {
        "deletion_support",
        "consultation",
        "legal_support",
        "psychological_therapy",
        "investigation_support",
        "medical_support",
    }
    assert body["victims_by_age_band"]["20s"] == 0
    assert body["content_removed_involving_minors_percent"] is None
    assert body["median_hours_takedown_to_removal"] is None
    assert body["offenders_apprehended"] == 0
    assert "months" not in body


def test_stats_by_month_gives_one_row_per_calendar_month(agencies: Agencies) -> None:
    auditor = agencies.new("auditor", scopes="stats.read")

    response = auditor.get("/v1/stats?from=1990-01-15&to=1990-03-31&group_by=month")

    assert response.status_code == 200
    months = response.json["months"]  # type: ignore[index]
    assert [m["month"] for m in months] == ["1990-01", "1990-02", "1990-03"]
    assert months[0]["from"] == "1990-01-15T00:00:00Z"
    assert months[-1]["to"] == "1990-04-01T00:00:00Z"


def test_stats_as_csv_when_asked_for_text_csv(agencies: Agencies) -> None:
    auditor = agencies.new("auditor", scopes="stats.read")

    response = auditor.get(f"/v1/stats?{EMPTY_YEAR}", headers={"Accept": "text/csv"})

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    figures = {(r["figure"], r["category"]): r["value"] for r in rows}
    assert figures[("cases_opened", "")] == "0"
    assert figures[("support_actions", "by_type.consultation")] == "0"
    assert all(r["from"] == "1990-01-01T00:00:00Z" for r in rows)


def test_stats_refuse_a_token_without_stats_read(agencies: Agencies) -> None:
    police = agencies.new("police")

    response = police.get(f"/v1/stats?{EMPTY_YEAR}")

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


def test_stats_refuse_a_period_that_ends_before_it_starts(agencies: Agencies) -> None:
    auditor = agencies.new("auditor", scopes="stats.read")

    for query in ("from=1990-02-01&to=1990-01-01", "from=yesterday&to=1990-01-01", "to=1990-01-01"):
        response = auditor.get(f"/v1/stats?{query}")
        assert response.status_code == 422, query
        assert response.mimetype == "application/problem+json"
