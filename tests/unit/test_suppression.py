"""Small-cell suppression: no published figure, alone or with others, reveals a count below 5."""

from services.stats.suppression import SUPPRESSED, cell, group, share, shares


def test_single_small_cell_is_shown_as_less_than_five() -> None:
    assert cell(3) == SUPPRESSED
    assert cell(1) == SUPPRESSED
    assert cell(5) == 5


def test_zero_is_shown_as_zero() -> None:
    assert cell(0) == 0
    assert group({"a": 0, "b": 12, "c": 9}) == {"a": 0, "b": 12, "c": 9}


def test_small_cell_that_the_total_would_reveal_takes_a_second_cell_with_it() -> None:
    published = group({"20s": 100, "30s": 50, "under_14": 3, "40s": 20})
    assert published["under_14"] == SUPPRESSED
    assert published["40s"] == SUPPRESSED  # the smallest other cell
    assert published["20s"] == 100
    assert published["30s"] == 50


def test_two_small_cells_need_no_complement() -> None:
    published = group({"a": 2, "b": 3, "c": 40})
    assert published == {"a": SUPPRESSED, "b": SUPPRESSED, "c": 40}


def test_no_suppressed_cell_can_be_recovered_from_the_total() -> None:
    counts = {"a": 4, "b": 7, "c": 30, "d": 0}
    published = group(counts)
    total = sum(counts.values())
    hidden = [name for name, value in published.items() if value == SUPPRESSED]
    shown = sum(value for value in published.values() if isinstance(value, int))
    # The hidden cells share a remainder; with two or more of them no single one is determined.
    assert len(hidden) >= 2
    assert total - shown == sum(counts[name] for name in hidden)


def test_share_is_withheld_on_a_small_base() -> None:
    assert share(2, 4) == SUPPRESSED
    assert share(0, 0) is None


def test_share_is_whole_percent_of_true_counts() -> None:
    assert share(146, 270) == 54
    assert share(100, 270) == 37


def test_share_of_a_small_numerator_is_withheld() -> None:
    assert share(2, 270) == SUPPRESSED


def test_shares_follow_the_suppression_of_their_cells() -> None:
    counts = {"20s": 100, "30s": 50, "under_14": 3, "40s": 20}
    result = shares(counts, group(counts))
    assert result["under_14"] == SUPPRESSED
    assert result["40s"] == SUPPRESSED
    assert result["20s"] == 58
