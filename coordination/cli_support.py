"""What every command module shares: settings, a runtime for one command, JSON output, and
domain refusals as one clear line. Its own module so that the command modules registered by
`coordination.cli` can import it directly, without importing `coordination.cli` back."""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from coordination.config import ConfigError, Settings
from coordination.runtime import Runtime
from services.errors import DomainError

F = TypeVar("F", bound=Callable[..., Any])


def settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


@contextmanager
def open_runtime() -> Iterator[Runtime]:
    """The database and settings for one command, released when it ends."""
    runtime = Runtime.build(settings())
    try:
        yield runtime
    finally:
        runtime.engine.dispose()


def echo_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def domain_errors(fn: F) -> F:
    """Domain refusals become one clear line and exit code 1, never a traceback."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            details = "; ".join(f"{k}: {', '.join(v)}" for k, v in (exc.errors or {}).items())
            raise click.ClickException(exc.detail + (f" ({details})" if details else "")) from None

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper  # type: ignore[return-value]
