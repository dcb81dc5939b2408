"""`coordination data-key rotate`: a new master key for victim data, the old one destroyed."""

import click

from coordination.cli_support import echo_json, open_runtime
from services.victims.handlers import rotate_master_key


@click.group("data-key")
def data_key() -> None:
    """The master key that wraps each case's victim-data key (COORDINATION_DATA_KEY_FILE)."""


@data_key.command("rotate")
def rotate() -> None:
    """Re-wrap every live case key under a new master key and destroy the old one.

    Backups taken before this can no longer decrypt any victim identity, so an erasure
    reaches every copy once this has run. Live identities stay readable.
    """
    with open_runtime() as runtime:
        done = rotate_master_key(runtime.uow(), runtime.settings.data_key_file)
    echo_json({"current": done.current, "rewrapped": done.rewrapped, "dropped": list(done.dropped)})


def register(main: click.Group) -> None:
    main.add_command(data_key)
