"""Fixtures shared across test folders live here as the features that need them land."""

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from coordination.runtime import Runtime
from events.broker import EmbeddedBroker
from tests.support.agencies import Agencies


@pytest.fixture
def agencies(client: FlaskClient, rt: Runtime) -> Agencies:
    """`agencies.new(kind, scopes=None)`: an org of that kind with a client and a live token."""
    return Agencies(client, rt)


@pytest.fixture
def own_broker() -> Iterator[EmbeddedBroker]:
    """A broker of this test alone: the test stops or empties it."""
    with EmbeddedBroker() as broker:
        yield broker
