"""The seed's report as a test: eight months replayed through the API give the seed's figures."""

import random
from datetime import UTC, datetime

import pytest

from coordination.config import Settings
from events.broker import EmbeddedBroker
from tests.support.seed_story import (
    AGE_BANDS,
    ARRESTS,
    INVESTIGATIONS,
    ITEMS_DELETED,
    ITEMS_INVOLVING_MINORS,
    OTHER_SERVICES,
    SUPPORT_ACTIONS,
    VICTIMS,
    plan_seed_story,
    replay,
    story_world,
)


@pytest.mark.kafka
def test_seed_story_statistics_give_back_the_seed_figures(
    settings: Settings, broker: EmbeddedBroker
) -> None:
    # A March long ago (the 1800s are this test's), so no other test's data falls in it.
    start = datetime(random.randint(1800, 1899), 3, 1, tzinfo=UTC)
    story = plan_seed_story(start)
    with story_world(settings, start, broker) as world:
        replay(world, story)

        stats = world.stats(story.start, story.end)
        months = world.stats(story.start, story.end, group_by="month")["months"]

    assert stats["victims_served"] == VICTIMS == 270
    assert stats["cases_opened"] == 270
    assert stats["content_removed"] == ITEMS_DELETED == 2194
    assert stats["content_removed_involving_minors"] == ITEMS_INVOLVING_MINORS
    assert stats["content_removed_involving_minors_percent"] == 54  # "over 54 percent"
    assert stats["support_actions"]["total"] == SUPPORT_ACTIONS == 4926
    assert stats["support_actions"]["by_type"] == {
        "deletion_support": 2194,
        **{kind: cases * each for kind, (cases, each) in OTHER_SERVICES.items()},
        "medical_support": 0,
    }
    assert stats["victims_by_age_band"] == AGE_BANDS
    assert stats["victims_by_age_band_percent"]["20s"] == 37  # "over 37 percent"
    assert stats["victims_by_age_band_percent"]["30s"] == 18  # "over 18 percent"
    assert stats["victims_minor_percent"] == 16  # "over 15 percent were under 18"
    assert stats["offenders_apprehended"] == ARRESTS == 7
    assert stats["referrals"]["by_type"]["takedown"] == {
        "total": 270,
        "by_outcome": {"completed": 270},
    }
    assert stats["referrals"]["by_type"]["investigation"]["total"] == INVESTIGATIONS
    assert stats["median_hours_takedown_to_removal"] == story.median_hours_takedown_to_removal
    assert stats["reuploads_detected"] == 0

    assert [m["month"] for m in months] == [f"{start.year}-{m:02d}" for m in range(3, 11)]
    assert sum(m["cases_opened"] for m in months) == 270
    assert sum(m["content_removed"] for m in months) == 2194
    assert sum(m["support_actions"] for m in months) == 4926
