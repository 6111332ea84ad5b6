"""A shopper's buttons on an order waiting for payment are the shopper's, not staff's to press.

Staff may look at any order; "Change my order" and "Resume payment" act as the shopper (the
items go to the presser's cart, the timeline says the shopper did it), so a staff member
without the order's link is refused, and the order is left as it was.
"""

import re

import pytest

from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.services.accounts import create_staff
from tests.accounts_support import PASSWORD
from tests.conftest import csrf_token
from tests.shop import place_and_get_session
from tests.state import guest_token, only_order, stock_of, text_of


@pytest.fixture
def staff_browser(app):
    with app.app_context():
        create_staff("staff@example.com", PASSWORD, admin=False)
        db.session.remove()
    browser = app.test_client()
    assert browser.post("/account/login", data={
        "csrf_token": csrf_token(browser), "email": "staff@example.com",
        "password": PASSWORD}).status_code == 303
    return browser


@pytest.mark.parametrize("button", ["cancel", "pay"])
def test_staff_cannot_press_the_shoppers_buttons_on_their_order(
    app, client, sandbox, products, staff_browser, button
):
    session_id = place_and_get_session(client, products["VASE"], 1)
    number = only_order(app).number
    response = staff_browser.post(f"/checkout/orders/{number}/{button}",
                                  data={"csrf_token": csrf_token(staff_browser)})
    assert response.status_code == 403
    assert "back office" in text_of(response)
    assert only_order(app).status == OrderStatus.PENDING_PAYMENT
    assert stock_of(app, products["VASE"]) == (1, 1)
    assert sandbox.retrieve_session(session_id)["status"] == "open"
    assert not re.search(r'id="qty-', text_of(staff_browser.get("/cart/")))


def test_staff_holding_the_link_act_as_whoever_sent_it(app, client, sandbox, products,
                                                      staff_browser):
    # A shopper who mails staff their order link has handed over its buttons: as anyone with it.
    place_and_get_session(client, products["VASE"], 1)
    number = only_order(app).number
    response = staff_browser.post(
        f"/checkout/orders/{number}/cancel?t={guest_token(app, number)}",
        data={"csrf_token": csrf_token(staff_browser)})
    assert response.status_code == 303
    assert only_order(app).status == OrderStatus.CANCELLED


def test_staff_still_see_the_payment_page(app, client, sandbox, products, staff_browser):
    place_and_get_session(client, products["VASE"], 1)
    number = only_order(app).number
    assert staff_browser.get(f"/checkout/orders/{number}/pay").status_code == 200
