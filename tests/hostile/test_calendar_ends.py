"""The staff orders list filtered by the first and last days the calendar has: answered, not a
500 (the day after 9999-12-31 does not exist, and "to" is inclusive)."""

import pytest

from tests.hostile.conftest import World

ENDS = ["from=0001-01-01", "to=0001-01-01", "from=9999-12-31", "to=9999-12-31",
        "from=0001-01-01&to=9999-12-31"]


@pytest.mark.parametrize("path", ["/staff/orders/", "/staff/orders/export.csv"])
def test_the_calendars_first_and_last_days_filter_the_orders_list(app, world: World, path):
    shown = {}
    for filters in ENDS:
        response = world.admin.get(f"{path}?{filters}")
        body = response.get_data(as_text=True)
        assert response.status_code == 200, (filters, body[:500])
        shown[filters] = world.mine in body
    # Every order was placed between the two ends, none before the first day or after the last.
    assert shown == {"from=0001-01-01": True, "to=0001-01-01": False,
                     "from=9999-12-31": False, "to=9999-12-31": True,
                     "from=0001-01-01&to=9999-12-31": True}
