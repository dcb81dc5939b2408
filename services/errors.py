"""Domain failures. The web layer maps each to one HTTP status; none carries personal data."""


class DomainError(Exception):
    """Base of every failure a use case reports to its caller."""

    title = "Request failed"

    def __init__(self, detail: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class NotFound(DomainError):
    """The object does not exist, or the actor may not know that it does."""

    title = "Not found"


class InvalidInput(DomainError):
    """Well-formed input that the domain rules refuse (unknown org, consent missing...)."""

    title = "Invalid input"


class Conflict(DomainError):
    """The move is not allowed in the object's current state, or not by this side."""

    title = "Conflict"


class PreconditionFailed(DomainError):
    """The client's `If-Match` version is not the current one."""

    title = "Precondition failed"


class Forbidden(DomainError):
    """The actor is known but may not do this (scopes are checked before this)."""

    title = "Forbidden"


class Gone(NotFound):
    """It existed and was destroyed for good (an erased victim identity): 410, never back."""

    title = "Gone"
