"""Publishing true counts: each group next to its total gets complementary suppression."""

from datetime import UTC, datetime

from services.stats.publish import csv_rows, publish, publish_months
from services.stats.queries import Figures, Period

PERIOD = Period(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))


def month(start: int, cases: int) -> Figures:
    period = Period(datetime(2026, start, 1, tzinfo=UTC), datetime(2026, start + 1, 1, tzinfo=UTC))
    return Figures(period, cases_opened=cases)


def test_a_small_month_hides_the_smallest_other_month_of_the_series() -> None:
    rows = publish_months([month(3, 10), month(4, 3), month(5, 12)])

    assert [r["cases_opened"] for r in rows] == ["<5", "<5", 12]
    assert [r["month"] for r in rows] == ["2026-03", "2026-04", "2026-05"]


def test_outcomes_of_a_hidden_referral_type_are_all_hidden() -> None:
    figures = Figures(
        PERIOD,
        referrals_by_type={
            "takedown": {"completed": 2, "rejected": 1},
            "investigation": {"in_progress": 9},
            "legal_aid": {},
            "counseling": {},
            "victim_support": {},
        },
    )

    published = publish(figures)["referrals"]

    assert published["total"] == 12
    assert published["by_type"]["takedown"] == {
        "total": "<5",
        "by_outcome": {"completed": "<5", "rejected": "<5"},
    }
    # The only other non-zero type is hidden with it, or 12 - 9 would give takedown away.
    assert published["by_type"]["investigation"]["total"] == "<5"


def test_a_median_over_fewer_than_five_items_is_hidden() -> None:
    few = Figures(PERIOD, takedown_to_removal_count=4, median_hours_takedown_to_removal=3.5)
    enough = Figures(PERIOD, takedown_to_removal_count=5, median_hours_takedown_to_removal=3.5)

    assert publish(few)["median_hours_takedown_to_removal"] == "<5"
    assert publish(enough)["median_hours_takedown_to_removal"] == 3.5


def test_csv_rows_flatten_every_published_figure() -> None:
    published = publish(Figures(PERIOD, cases_opened=7))
    published["months"] = publish_months([month(3, 7)])

    rows = csv_rows(published)

    assert ("", "cases_opened", "", 7) in rows
    assert ("2026-03", "cases_opened", "", 7) in rows
    assert ("", "support_actions", "by_type.consultation", 0) in rows
