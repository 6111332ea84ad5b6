"""The shopper's timeline: what matters to them, in plain words, at the store's local time.

Stock holds, payment pages and flags are the shop's bookkeeping: they stay on the staff
timeline, which keeps every row.
"""

import re
from datetime import UTC, datetime

import pytest

from checkout.config import ConfigError, from_environment
from checkout.domain.order_status import OrderStatus
from checkout.domain.shopper_timeline import plural
from checkout.extensions import db
from checkout.services import orders
from tests.conftest import csrf_token
from tests.shop import add_to_cart, follow_success, place_and_get_session
from tests.staff.conftest import _account
from tests.state import guest_token, only_order

STAFF_ONLY = ("Payment page opened", "Stock hold released", "Stock reserved for shipping",
              "Flagged for staff", "units)")


def visible(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def timeline_of(page: str) -> str:
    return page.split(" Timeline ", 1)[1].split(" Shipping to ", 1)[0]


@pytest.fixture
def paid(app, client, sandbox, products) -> str:
    """A guest paid for two mugs; returns the order number."""
    session_id = place_and_get_session(client, products["MUG"], 2)
    follow_success(client, sandbox.pay(session_id).redirect_url)
    return only_order(app).number


def shopper_page(app, number: str) -> str:
    return visible(app.test_client().get(f"/orders/{number}?t={guest_token(app, number)}"))


def test_a_paid_order_shows_the_shopper_plain_words_and_staff_every_row(app, paid):
    timeline = timeline_of(shopper_page(app, paid))
    assert "Order placed; awaiting payment." in timeline
    assert "Payment confirmed" in timeline
    for staff_words in STAFF_ONLY:
        assert staff_words not in timeline, staff_words
    assert "→" not in timeline  # status labels with arrows are for staff

    staff_page = visible(_account(app, "staff@example.com", "staff")
                         .get(f"/staff/orders/{paid}"))
    assert "Payment page opened on Stripe Checkout." in staff_page
    assert "Stock reserved for shipping." in staff_page


def test_packing_and_shipping_read_plainly_with_the_tracking_number(app, paid):
    with app.app_context():
        order = orders.find_order(paid)
        order.transition_to(OrderStatus.AWAITING_SHIPMENT, actor="staff",
                            message="Fulfilment started.")
        order.transition_to(OrderStatus.SHIPPED, actor="staff",
                            message="Shipped with UPS, tracking number 1Z999AA10123456784.")
        db.session.commit()
    timeline = timeline_of(shopper_page(app, paid))
    assert "We are packing your order." in timeline
    assert "Fulfilment started" not in timeline
    assert "Shipped with UPS, tracking number 1Z999AA10123456784." in timeline


def test_a_cancelled_order_says_who_cancelled_in_plain_words_and_counts_units_right(
        app, client, products):
    place_and_get_session(client, products["MUG"], 1)
    number = only_order(app).number
    response = client.post(f"/checkout/orders/{number}/cancel?t={guest_token(app, number)}",
                           data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303
    timeline = timeline_of(shopper_page(app, number))
    assert "You cancelled the order." in timeline
    assert "Stock hold" not in timeline

    staff_page = visible(_account(app, "staff@example.com", "staff")
                         .get(f"/staff/orders/{number}"))
    assert "Stock hold released (1 unit)." in staff_page  # one unit, not "1 units"


def test_times_are_shown_in_the_store_time_zone(app, paid):
    with app.app_context():
        order = orders.find_order(paid)
        for event in order.events:
            event.created_at = datetime(2026, 7, 1, 21, 30, tzinfo=UTC)
        order.created_at = datetime(2026, 7, 1, 21, 29, tzinfo=UTC)
        db.session.commit()
    app.config["STORE_TIMEZONE"] = "Europe/Paris"
    try:
        page = app.test_client().get(f"/orders/{paid}?t={guest_token(app, paid)}") \
            .get_data(as_text=True)
    finally:
        app.config["STORE_TIMEZONE"] = "UTC"
    # 21:30 UTC is 23:30 in Paris in summer; the machine-readable time stays exact UTC.
    assert "01 Jul 2026, 23:30 CEST" in page
    assert "Placed <time" in page and "01 Jul 2026, 23:29 CEST" in page  # the order's head
    assert 'datetime="2026-07-01T21:30:00+00:00"' in page
    assert "21:30 UTC" not in page


def test_the_store_time_zone_defaults_to_utc_and_refuses_unknown_zones(monkeypatch, tmp_path):
    monkeypatch.delenv("STORE_TIMEZONE", raising=False)
    assert from_environment(tmp_path)["STORE_TIMEZONE"] == "UTC"
    monkeypatch.setenv("STORE_TIMEZONE", "America/New_York")
    assert from_environment(tmp_path)["STORE_TIMEZONE"] == "America/New_York"
    monkeypatch.setenv("STORE_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(ConfigError, match="STORE_TIMEZONE"):
        from_environment(tmp_path)


def test_counts_take_the_right_number():
    assert [plural(n, "unit") for n in (0, 1, 2)] == ["0 units", "1 unit", "2 units"]
    assert plural(1, "box", "boxes") == "1 box" and plural(3, "box", "boxes") == "3 boxes"


def test_the_cart_badge_reads_one_item_not_one_items(client, products):
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    page = client.get("/").get_data(as_text=True)
    assert 'aria-label="1 item"' in page


def test_the_timeline_offers_its_times_to_the_browser_script_without_inline_code(app, paid):
    page = app.test_client().get(f"/orders/{paid}?t={guest_token(app, paid)}") \
        .get_data(as_text=True)
    times = re.findall(r"<time [^>]*>", page)
    assert times and all("data-local" in tag and 'datetime="' in tag for tag in times)
    [script] = re.findall(r"<script[^>]*>", page)
    assert re.fullmatch(r'<script src="/static/js/local-times\.js\?v=[0-9a-f]{12}" defer>',
                        script)
    assert "<script></script>" not in page and "onload=" not in page
