"""Fixtures shared across test folders live here as the features that need them land."""

import pytest
from flask.testing import FlaskClient

from coordination.runtime import Runtime
from tests.support.agencies import Agencies


@pytest.fixture
def agencies(client: FlaskClient, rt: Runtime) -> Agencies:
    """`agencies.new(kind, scopes=None)`: an org of that kind with a client and a live token."""
    return Agencies(client, rt)
