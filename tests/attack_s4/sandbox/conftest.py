"""The standalone sandbox's fixtures (SANDBOX_TEST_POSTGRES_URL puts its store on PostgreSQL)."""

from tests.sandbox.conftest import app, client, receiver, sandbox  # noqa: F401
