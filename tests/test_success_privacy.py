"""The success page: order number, e-mail and link only for the browser that placed it or its owner.

Its URL carries the Checkout Session id, which leaks through history, shared screens and logs;
anyone else who opens it is thanked and told to look in their e-mail, and learns nothing more.
"""

import pytest

from tests.accounts_support import make_shopper, signed_in_browser
from tests.attack_issue9.test_provider_amplification import count_retrieves
from tests.shop import follow_success, place_and_get_session
from tests.state import only_order
from tests.test_rate_limits import from_address, limited_app

NEUTRAL = "check your e-mail for the order details"


def page_of(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


@pytest.mark.parametrize("pay", [True, False], ids=["paid", "not yet paid"])
def test_another_browser_sees_no_order_number_email_or_link(app, client, sandbox, products, pay):
    session_id = place_and_get_session(client, products["MUG"], 1)
    order = only_order(app)
    if pay:
        assert sandbox.pay(session_id).ok
    url = f"/checkout/success?session_id={session_id}"

    own = page_of(client.get(url))
    assert order.number in own
    if pay:
        assert order.email in own and "?t=" in own

    stranger = page_of(app.test_client().get(url))
    assert "Thanks — your payment is being processed" in stranger
    assert NEUTRAL in stranger
    for private in (order.number, order.email, "?t=", "/orders/", "Ada", "Springfield"):
        assert private not in stranger, private
    # Nothing for a stranger to wait for: the neutral page does not keep refreshing.
    assert 'http-equiv="refresh"' not in stranger


def test_the_signed_in_owner_sees_the_order_in_any_browser(app, sandbox, products):
    make_shopper(app, "grace@example.com")
    placing = signed_in_browser(app, "grace@example.com")
    session_id = place_and_get_session(placing, products["PEN"], 1)
    result = sandbox.pay(session_id)
    order = only_order(app)

    elsewhere = signed_in_browser(app, "grace@example.com")  # her phone, same account
    page = page_of(follow_success(elsewhere, result.redirect_url))
    assert order.number in page and order.email in page
    assert f"/orders/{order.number}" in page

    make_shopper(app, "mallory@example.com")
    other = page_of(follow_success(signed_in_browser(app, "mallory@example.com"),
                                   result.redirect_url))
    assert order.number not in other and order.email not in other
    assert NEUTRAL in other


def test_strangers_reloading_the_neutral_page_ask_stripe_no_more_than_the_throttle_allows(
        app, tmp_path, products):
    limited = limited_app(app, tmp_path)
    session_id = place_and_get_session(from_address(limited, "203.0.113.70"), products["MUG"])
    retrieves = count_retrieves(limited)
    for number in range(10):
        stranger = from_address(limited, f"198.51.100.{number + 1}")
        page = page_of(stranger.get("/checkout/success", query_string={"session_id": session_id}))
        assert NEUTRAL in page
    # Ten browsers, ten addresses, one session: Stripe is asked once in the throttle's window.
    assert len(retrieves) <= 1, retrieves
