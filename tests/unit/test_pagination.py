import pytest

from services.errors import InvalidInput
from services.pagination import DEFAULT_LIMIT, MAX_LIMIT, check_limit, decode_cursor, encode_cursor

SECRET = b"s" * 32


def test_cursor_round_trips_for_its_list() -> None:
    cursor = encode_cursor(SECRET, "cases", "0190-abc")
    assert decode_cursor(SECRET, "cases", cursor) == "0190-abc"
    assert "0190-abc" not in cursor


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),
        lambda c: ("e" if c[0] != "e" else "f") + c[1:],
        lambda c: c.partition(".")[0],
        lambda c: c + "=",
        lambda c: "",
        lambda c: "x" * 2000,
    ],
)
def test_any_edit_of_a_cursor_is_refused(mangle: object) -> None:
    cursor = encode_cursor(SECRET, "cases", "k")
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(SECRET, "cases", mangle(cursor))  # type: ignore[operator]
    assert refused.value.errors == {"cursor": ["not a cursor this list handed out"]}


def test_cursor_of_another_list_or_key_is_refused() -> None:
    cursor = encode_cursor(SECRET, "consents", "k")
    with pytest.raises(InvalidInput):
        decode_cursor(SECRET, "cases", cursor)
    with pytest.raises(InvalidInput):
        decode_cursor(b"t" * 32, "consents", cursor)


@pytest.mark.parametrize("raw", ["0", "201", "-5", "abc", "+3", "1e2", "٣"])
def test_limit_outside_range_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        check_limit(raw)


def test_limit_defaults_and_bounds() -> None:
    assert check_limit(None) == DEFAULT_LIMIT == 50
    assert check_limit("") == DEFAULT_LIMIT
    assert check_limit("1") == 1
    assert check_limit(str(MAX_LIMIT)) == MAX_LIMIT == 200
