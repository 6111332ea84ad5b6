"""Attacks on the staff orders list's page cursor: base64 of JSON nested past recursion."""

import base64

import pytest

from tests.staff.conftest import staff as staff  # the fixture


def _cursor(depth: int) -> str:
    raw = ("[" * depth + "]" * depth).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("depth", [1_500, 50_000])
def test_a_cursor_nested_past_recursion_is_a_400(app, staff, depth):
    # 1,500 levels fit in gunicorn's 4,094-byte request line; a link a staff member is sent.
    # Before the fix json.loads raised RecursionError (no ValueError) and the list was a 500.
    answer = staff.get(f"/staff/orders/?after={_cursor(depth)}")
    assert answer.status_code == 400
    assert "That page link is damaged" in answer.get_data(as_text=True)


def test_the_export_ignores_such_a_cursor_too(app, staff):
    answer = staff.get(f"/staff/orders/export.csv?after={_cursor(1_500)}")
    assert answer.status_code in (200, 400)
