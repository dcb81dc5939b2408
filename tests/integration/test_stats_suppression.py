"""Published statistics never single out a person: small cells, cells that totals would reveal,
zero, and no id, reference or personal data anywhere in them."""

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from coordination.config import Settings
from events.broker import EmbeddedBroker
from tests.support.seed_story import StoryWorld, story_world

# Each test gets a month of its own in 1900-1969, where no other test's data falls.
MONTHS = itertools.count(random.randrange(0, 70 * 12 - 100))


def a_month_of_its_own() -> datetime:
    month = next(MONTHS)
    return datetime(1900 + month // 12, month % 12 + 1, 1, tzinfo=UTC)


@pytest.fixture
def world(settings: Settings) -> Iterator[StoryWorld]:
    with story_world(settings, a_month_of_its_own()) as world:
        yield world


@pytest.fixture
def streamed_world(settings: Settings, broker: EmbeddedBroker) -> Iterator[StoryWorld]:
    """Support actions are counted from the stats consumer's rollup: it runs here."""
    with story_world(settings, a_month_of_its_own(), broker) as world:
        yield world


def month_of(world: StoryWorld) -> tuple[datetime, datetime]:
    start = world.clock.at
    return start, (start + timedelta(days=32)).replace(day=1)


def open_cases(world: StoryWorld, bands: dict[str, int]) -> list[str]:
    cases = []
    start = world.clock.at
    for n, band in enumerate(b for b, count in bands.items() for _ in range(count)):
        with world.at(start + timedelta(hours=n + 1)):
            cases.append(world.open_case(band))
    return cases


def test_counts_from_one_to_four_are_shown_as_less_than_five(world: StoryWorld) -> None:
    open_cases(world, {"20s": 3})

    stats = world.stats(*month_of(world))

    assert stats["cases_opened"] == "<5"
    assert stats["victims_served"] == "<5"
    assert stats["victims_by_age_band"]["20s"] == "<5"
    assert stats["victims_by_age_band_percent"]["20s"] == "<5"
    assert stats["victims_minor_percent"] == "<5"  # base under five


def test_zero_is_shown_as_zero(world: StoryWorld) -> None:
    open_cases(world, {"20s": 6})

    stats = world.stats(*month_of(world))

    assert stats["victims_by_age_band"]["30s"] == 0
    assert stats["victims_by_age_band_percent"]["30s"] == 0
    assert stats["content_removed"] == 0
    assert stats["offenders_apprehended"] == 0


def test_a_small_cell_that_the_total_would_reveal_hides_a_second_cell(world: StoryWorld) -> None:
    # 12 victims published; 30s alone hidden would be 12 - 10 = 2 by subtraction.
    open_cases(world, {"20s": 10, "30s": 2})

    stats = world.stats(*month_of(world))

    assert stats["victims_served"] == 12
    assert stats["victims_by_age_band"]["30s"] == "<5"
    assert stats["victims_by_age_band"]["20s"] == "<5"  # complementary suppression
    assert stats["victims_by_age_band_percent"]["20s"] == "<5"
    assert stats["victims_by_age_band"]["40s"] == 0


def test_percentages_are_of_true_counts_rounded(world: StoryWorld) -> None:
    open_cases(world, {"20s": 7, "30s": 5})

    stats = world.stats(*month_of(world))

    assert stats["victims_by_age_band"] == {
        "under_14": 0,
        "14_17": 0,
        "18_19": 0,
        "20s": 7,
        "30s": 5,
        "40s": 0,
        "50_plus": 0,
        "unknown": 0,
    }
    assert stats["victims_by_age_band_percent"]["20s"] == 58  # 7/12 = 58.3 %
    assert stats["victims_by_age_band_percent"]["30s"] == 42


@pytest.mark.kafka
def test_a_small_service_count_next_to_the_total_hides_another_type(
    streamed_world: StoryWorld,
) -> None:
    world = streamed_world
    (case_id,) = open_cases(world, {"20s": 1})
    with world.at(world.clock.at + timedelta(days=2)):
        world.record_service(case_id, "deletion_support", 20)
        world.record_service(case_id, "consultation", 3)

    stats = world.stats(*month_of(world))

    assert stats["support_actions"]["total"] == 23
    assert stats["support_actions"]["by_type"]["consultation"] == "<5"
    assert stats["support_actions"]["by_type"]["deletion_support"] == "<5"
    assert stats["support_actions"]["by_type"]["legal_support"] == 0


def test_statistics_carry_no_case_id_reference_or_personal_data(world: StoryWorld) -> None:
    case_ids = open_cases(world, {"20s": 6, "14_17": 5})
    references = []
    for case_id in case_ids:
        references.append(world.center.get(f"/v1/cases/{case_id}").json["reference"])  # type: ignore[index]
    for case_id in case_ids[:6]:  # the adults'
        identity = world.center.put(
            f"/v1/cases/{case_id}/victim",
            json={"name": "Kim Min-ji", "phone": "010-1234-5678", "email": "minji@example.org"},
        )
        assert identity.status_code in (200, 201), identity.get_data(as_text=True)
    start, end = month_of(world)
    query = f"from={start.date()}&to={(end - timedelta(days=1)).date()}"

    as_json = world.auditor.get(f"/v1/stats?{query}&group_by=month").get_data(as_text=True)
    as_csv = world.auditor.get(
        f"/v1/stats?{query}&group_by=month", headers={"Accept": "text/csv"}
    ).get_data(as_text=True)

    assert '"victims_served":11' in as_json.replace(" ", "")
    for text in (as_json, as_csv):
        for secret in [*case_ids, *references, "Kim Min-ji", "010-1234-5678", "minji@"]:
            assert secret not in text
        assert world.center.org not in text
