"""A Checkout Session whose total is past the most Stripe charges is created by the sandbox.

Stripe caps one charge at eight digits of minor units (99,999,999: $999,999.99) and refuses a
larger total with amount_too_large. The sandbox checks each line's unit_amount against that cap
(stripe_sandbox/sessions.py:153-154) and the total against the minimum charge
(_check_minimum_charge), but never the total against the maximum: 99 units at 99,999,999 make
a 9,899,999,901 session (quantity may be up to 999,999). The shop, tested against the sandbox,
never learns that real Stripe would refuse its large orders
(tests/attack_s4/test_order_totals_past_integer.py shows it placing one).
"""

from tests.sandbox.conftest import session_params
from tests.sandbox.helpers import call


def test_a_session_total_past_the_largest_charge_is_refused(app):
    params = session_params(line_items=[
        {"price_data": {"currency": "usd", "unit_amount": 99_999_999,
                        "product_data": {"name": "Ring"}}, "quantity": 99},
    ])
    status, body, _ = call(app, "POST", "/v1/checkout/sessions", params)
    assert status == 400, body.get("amount_total")
    assert body["error"]["code"] == "amount_too_large"
