"""Optimistic concurrency: a change names the version it was based on (HTTP `If-Match`)."""

from services.errors import PreconditionFailed


def check_version(current: int, expected: int | None) -> None:
    """`expected` None means "any version" (`If-Match: *`); otherwise it must be the current."""
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"the resource changed (version {current}, yours {expected}); fetch it and retry"
        )
