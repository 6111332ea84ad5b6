"""A checkout form left open in a second tab, submitted after the first tab placed the order."""

import re

from tests.conftest import csrf_token
from tests.shop import add_to_cart, checkout_form, session_id_of, submit_checkout
from tests.state import guest_token, only_order, text_of


def test_the_stale_tab_is_pointed_to_the_order_waiting_not_told_to_add_something(
    app, client, sandbox, products
):
    add_to_cart(client, products["VASE"], 1)
    stale = checkout_form(client)
    session_id_of(submit_checkout(client))  # the first tab placed the order
    number = only_order(app).number
    response = submit_checkout(client, stale, name="Ada Byron")
    assert response.status_code == 303 and response.headers["Location"].endswith("/cart/")
    only_order(app)  # still just the one order, nothing half-written
    cart = " ".join(re.sub(r"<[^>]+>", " ", text_of(client.get(response.headers["Location"])))
                    .split())
    assert "add something first" not in cart
    assert f"You have an order waiting for payment: {number}" in cart


def test_what_the_stale_tab_typed_is_kept_for_after_the_order_is_changed(
    app, client, sandbox, products
):
    add_to_cart(client, products["VASE"], 1)
    stale = checkout_form(client)
    session_id_of(submit_checkout(client))
    submit_checkout(client, stale, name="Ada Byron", line1="7 Difference Lane")
    number = only_order(app).number
    client.post(f"/checkout/orders/{number}/cancel?t={guest_token(app, number)}",
                data={"csrf_token": csrf_token(client)})
    page = text_of(client.get("/checkout/"))
    assert 'value="Ada Byron"' in page and 'value="7 Difference Lane"' in page
