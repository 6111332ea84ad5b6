"""Fixtures of the issue 9 attack tests."""

import pytest
from flask import Flask

from tests.test_rate_limits import limited_app
from tests.test_rate_limits import redis_url as redis_url  # the fixture, for these tests too


@pytest.fixture
def limited(app, tmp_path) -> Flask:
    """The suite's app with small rate limits on, counted in memory."""
    return limited_app(app, tmp_path)
