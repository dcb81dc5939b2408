"""Small-cell suppression: published figures must never single out a person.

A count from 1 to 4 is shown as "<5". Where a group of cells adds up to a published total, one
suppressed cell could be worked out by subtraction, so a second cell (the smallest remaining
one) is suppressed with it: complementary suppression. Zero is shown: it reveals nobody.
Percentages are computed on the true counts, rounded to whole percent, and withheld when their
base is below the threshold or their numerator is itself suppressed.
"""

from collections.abc import Mapping

THRESHOLD = 5
SUPPRESSED = "<5"

Published = int | str


def is_small(count: int) -> bool:
    return 0 < count < THRESHOLD


def cell(count: int) -> Published:
    """One count standing alone (no total it could be derived from)."""
    return SUPPRESSED if is_small(count) else count


def group(counts: Mapping[str, int], *, total_published: bool = True) -> dict[str, Published]:
    """A group of cells whose sum is published elsewhere (or here, as a total)."""
    hidden = {name for name, count in counts.items() if is_small(count)}
    if total_published and len(hidden) == 1:
        # One hidden cell next to a total is no secret: hide the smallest other non-zero cell too.
        others = sorted(
            (count, name) for name, count in counts.items() if count > 0 and name not in hidden
        )
        if others:
            hidden.add(others[0][1])
    return {name: (SUPPRESSED if name in hidden else count) for name, count in counts.items()}


def share(numerator: int, base: int) -> int | str | None:
    """A whole percent, or "<5" where it would expose a small count, or None for an empty base."""
    if base == 0:
        return None
    if base < THRESHOLD or is_small(numerator):
        return SUPPRESSED
    return round(100 * numerator / base)


def shares(
    counts: Mapping[str, int], published: Mapping[str, Published]
) -> dict[str, int | str | None]:
    """Percent of the group total per cell; a cell hidden in `published` keeps its share hidden."""
    base = sum(counts.values())
    return {
        name: SUPPRESSED if published[name] == SUPPRESSED and base else share(count, base)
        for name, count in counts.items()
    }
