"""A signed-in staff browser for the issue 11 attack tests (the staff suite's own helper)."""

import pytest

from tests.staff.conftest import _account


@pytest.fixture
def staff(app):
    return _account(app, "staff@example.com", "staff")
