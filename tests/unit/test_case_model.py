from datetime import UTC, datetime

import pytest

from services.cases.models import Case
from services.errors import Conflict, InvalidInput

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def new_case(age_band: str = "14_17") -> Case:
    return Case.open(
        case_id="c1", reference="DSC-2026-000001", owner_org="o", harm_types=["other"],
        age_band=age_band, now=NOW,
    )  # fmt: skip


@pytest.mark.parametrize(("band", "minor"), [("under_14", True), ("14_17", True), ("18_19", False),
                                             ("unknown", False)])  # fmt: skip
def test_is_minor_follows_the_age_band(band: str, minor: bool) -> None:
    assert new_case(band).is_minor is minor


def test_open_records_case_opened() -> None:
    case = new_case()
    [(_, event)] = case.pull_events()
    assert event.type == "case.opened"
    assert event.data()["is_minor"] is True


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("open", "active", True),
        ("open", "closed", True),
        ("active", "monitoring", True),
        ("monitoring", "active", True),
        ("closed", "active", True),
        ("closed", "monitoring", False),
        ("active", "open", False),
        ("monitoring", "open", False),
    ],
)
def test_status_moves(start: str, target: str, allowed: bool) -> None:
    case = new_case()
    case.status = start
    if allowed:
        case.change(now=NOW, status=target)
        assert case.status == target
        assert (case.closed_at is not None) is (target == "closed")
    else:
        with pytest.raises(Conflict):
            case.change(now=NOW, status=target)
        assert case.status == start


def test_unknown_codes_are_refused() -> None:
    with pytest.raises(InvalidInput):
        new_case("teen")
    with pytest.raises(InvalidInput):
        new_case().change(now=NOW, harm_types=["gossip"])
    with pytest.raises(InvalidInput):
        new_case().change(now=NOW, harm_types=[])


def test_no_change_records_nothing() -> None:
    case = new_case()
    case.pull_events()
    case.change(now=NOW, harm_types=["other"], status="open")
    assert case.pull_events() == []
