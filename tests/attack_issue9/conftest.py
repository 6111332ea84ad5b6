"""Fixtures of the issue 9 attack tests."""

import socket
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.test_rate_limits import limited_app
from tests.test_rate_limits import redis_url as redis_url  # the fixture, for these tests too


@pytest.fixture
def limited(app, tmp_path) -> Flask:
    """The suite's app with small rate limits on, counted in memory."""
    return limited_app(app, tmp_path)


@pytest.fixture
def hung_redis() -> Iterator[str]:
    """A Redis that takes connections and never answers (stuck, or its host half gone)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)  # the kernel completes handshakes; nobody ever reads or replies
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    finally:
        server.close()
