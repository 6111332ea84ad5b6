"""A cart whose total passes what an order's INTEGER columns hold, and what Stripe can charge.

A price may be up to 99,999,999 minor units (parse_amount, checkout/domain/money.py:95), and a
line may hold 99 units (MAX_QUANTITY_PER_LINE): one such line is 9,899,999,901, past
2^31 - 1. Nothing between the cart and the INSERT of the order (order_line.line_total,
order.subtotal and order.total are INTEGER) compares the total with a limit: on PostgreSQL
placing the order is a NumericValueOutOfRange (integer out of range), a 500 and a checkout
that cannot be finished or explained. On SQLite the order is stored and the sandbox opens a
Checkout Session for 9,899,999,901 cents (a 303 to its payment page), which real Stripe
refuses (amount_too_large: at most 99,999,999 per charge). The shopper should be told the order
is too large, with no order written.
"""

from checkout.extensions import db
from checkout.models import Order
from tests.factories import ProductFactory
from tests.hostile.conftest import all_rows, bad_stored_values
from tests.shop import add_to_cart, submit_checkout
from tests.test_webhooks import count


def test_an_order_past_the_largest_charge_is_refused_with_a_message(app, client, sandbox):
    with app.app_context():
        ring = ProductFactory(sku="RING", price=99_999_999, on_hand=500, title="Ring").id
        db.session.remove()
    assert add_to_cart(client, ring, 99).status_code == 303
    before = all_rows(app)
    response = submit_checkout(client)
    assert response.status_code < 500, response.status_code
    assert response.status_code != 303 or "/sandbox/" not in response.headers["Location"]
    assert count(app, Order) == 0
    assert bad_stored_values(app) == []
    changed = [t for t, rows in all_rows(app).items() if rows != before[t]]
    assert changed in ([], ["cart", "cart_line"]), changed
