"""Bad input to the cart, and every POST without its CSRF token: a clear 4xx, nothing
created, never a 500.

Every case sends a real CSRF token unless the token is what is being tested, and compares a
snapshot of the database before and after (tests/state.py) to prove nothing was created or
changed. Exceptions answer as in production (a 500 page), so a crash fails on its status.
"""


import pytest

from checkout.extensions import db
from checkout.models import Product
from tests.bad_input.conftest import (
    CSRF_MESSAGE,
    HUGE_NUMBER,
    LONG_TEXT,
    NOT_FOR_SALE,
    PASSWORD,
    Shop,
    assert_refused,
    post_form,
)
from tests.conftest import csrf_token
from tests.shop import ADDRESS, add_to_cart
from tests.state import only_order, snapshot, text_of

# CSRF: every state-changing POST ---------------------------------------------------------

def _endpoints(shop: Shop) -> dict[str, tuple[str, dict[str, str]]]:
    return {
        "add to cart": ("/cart/add", {"product_id": str(shop.mug), "quantity": "1"}),
        "change quantity": (f"/cart/lines/{shop.mug}", {"quantity": "1"}),
        "remove line": (f"/cart/lines/{shop.mug}/remove", {}),
        "place order": ("/checkout/", {**ADDRESS, "checkout_token": "a" * 32}),
        "resume payment": (f"/checkout/orders/{shop.number}/pay?t={shop.token}", {}),
        "cancel order": (f"/checkout/orders/{shop.number}/cancel?t={shop.token}", {}),
        "sign in": ("/account/login", {"email": "grace@example.com", "password": PASSWORD}),
        "sign up": ("/account/register", {"email": "new@example.com", "password": PASSWORD,
                                          "confirm": PASSWORD}),
        "sign out": ("/account/logout", {}),
    }


ENDPOINTS = list(_endpoints(Shop(0, 0, 0, "", "", "")))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("token", ["missing", "wrong", "from another session"])
def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(
    app, client, sandbox, shop, shopper, endpoint, token
):
    path, data = _endpoints(shop)[endpoint]
    sent = {
        "missing": None,
        "wrong": "not-a-csrf-token",
        "from another session": csrf_token(app.test_client()),
    }[token]
    before = snapshot(app)
    response = post_form(client, path, data, token=sent)
    assert_refused(response, 400, CSRF_MESSAGE)
    assert snapshot(app) == before
    assert sandbox.retrieve_session(shop.session_id)["status"] == "open"
    assert "Sign out" not in text_of(client.get("/cart/"))


def test_sign_out_without_a_csrf_token_keeps_the_shopper_signed_in(app, client, shopper):
    response = post_form(client, "/account/login", {"email": shopper, "password": PASSWORD})
    assert response.status_code == 303
    assert_refused(post_form(client, "/account/logout", {}, token=None), 400, CSRF_MESSAGE)
    assert client.get("/account/orders").status_code == 200
    assert post_form(client, "/account/logout", {}).status_code == 303
    assert client.get("/account/orders").status_code == 302


# Add to cart ------------------------------------------------------------------------------

ADD_CASES = [
    ("missing product", {"product_id": None}, 404, NOT_FOR_SALE),
    ("empty product", {"product_id": ""}, 404, NOT_FOR_SALE),
    ("product id not a number", {"product_id": "abc"}, 404, NOT_FOR_SALE),
    ("product id a fraction", {"product_id": "1.5"}, 404, NOT_FOR_SALE),
    ("negative product id", {"product_id": "-1"}, 404, NOT_FOR_SALE),
    ("zero product id", {"product_id": "0"}, 404, NOT_FOR_SALE),
    ("huge product id", {"product_id": HUGE_NUMBER}, 404, NOT_FOR_SALE),
    ("unknown product", {"product_id": "999999"}, 404, NOT_FOR_SALE),
    ("product id with a control character", {"product_id": "1\x00"}, 404, NOT_FOR_SALE),
    ("missing quantity", {"quantity": None}, 422, "Enter a quantity."),
    ("empty quantity", {"quantity": ""}, 422, "Enter a quantity."),
    ("quantity not a number", {"quantity": "abc"}, 422, "Not a valid integer value."),
    ("quantity a fraction", {"quantity": "1.5"}, 422, "Not a valid integer value."),
    ("negative quantity", {"quantity": "-1"}, 422, "Choose between 1 and 99."),
    ("zero quantity", {"quantity": "0"}, 422, "Choose between 1 and 99."),
    ("quantity over the line limit", {"quantity": "100"}, 422, "Choose between 1 and 99."),
    ("huge quantity", {"quantity": HUGE_NUMBER}, 422, "Choose between 1 and 99."),
    ("10 000-character quantity", {"quantity": LONG_TEXT}, 422, "Not a valid integer value."),
    ("quantity with a control character", {"quantity": "1\x00"}, 422,
     "Not a valid integer value."),
    ("more than is in stock", {"quantity": "2", "product": "VASE"}, 409,
     "Not enough stock. Hand-thrown Vase: you asked for 2, only 1 left."),
]


@pytest.mark.parametrize(("case", "overrides", "status", "message"), ADD_CASES,
                         ids=[c[0] for c in ADD_CASES])
def test_adding_to_the_cart_with_bad_input_says_why_and_adds_nothing(
    app, client, products, case, overrides, status, message
):
    overrides = dict(overrides)
    product = overrides.pop("product", "MUG")
    data = {"product_id": str(products[product]), "quantity": "1", **overrides}
    before = snapshot(app)
    response = refused_add(client, post_form(client, "/cart/add", data), status)
    assert_refused(response, 404 if status == 404 else 200, message)
    assert snapshot(app) == before


def refused_add(client, response, status: int):
    """A refused quantity goes back to the product page (post/redirect/get): follow it."""
    if status == 404:
        return response
    assert response.status_code == 303, text_of(response)[:3000]
    assert response.headers["Location"].startswith("/products/")
    return client.get(response.headers["Location"])  # the product page, saying why


def test_adding_beyond_what_is_left_counts_what_is_already_in_the_cart(app, client, products):
    assert add_to_cart(client, products["PEN"], 3).status_code == 303
    before = snapshot(app)
    response = refused_add(client, add_to_cart(client, products["PEN"], 1), 409)
    assert_refused(response, 200, "Brass Pen: you asked for 4, only 3 left.")
    assert snapshot(app) == before


def test_an_inactive_product_cannot_be_added(app, client, products):
    with app.app_context():
        db.session.get(Product, products["MUG"]).is_active = False
        db.session.commit()
    before = snapshot(app)
    assert_refused(add_to_cart(client, products["MUG"], 1), 404, NOT_FOR_SALE)
    assert snapshot(app) == before


def test_forged_price_fields_are_ignored_by_the_cart_and_the_order(app, client, sandbox,
                                                                   products):
    forged = {"price": "1", "unit_price": "1", "total": "1", "subtotal": "1", "amount": "1"}
    assert add_to_cart(client, products["MUG"], 2, **forged).status_code == 303
    cart = text_of(client.get("/cart/"))
    assert "$48.00" in cart and "$0.01" not in cart

    page = client.get("/checkout/").get_data(as_text=True)
    data = {"csrf_token": csrf_token(client), **ADDRESS, **forged,
            "checkout_token": page.split('name="checkout_token" type="hidden" value="')[1]
            .split('"')[0]}
    response = client.post("/checkout/", data=data)
    assert response.status_code == 303
    order = only_order(app)
    assert (order.subtotal, order.total) == (4800, 4800)
    session_id = response.headers["Location"].rsplit("/", 1)[1]
    assert sandbox.retrieve_session(session_id)["amount_total"] == 4800


# Change a quantity, remove a line ---------------------------------------------------------

UPDATE_CASES = [
    ("missing quantity", None, 422, "Enter a quantity."),
    ("quantity not a number", "abc", 422, "Not a valid integer value."),
    ("quantity a fraction", "1.5", 422, "Not a valid integer value."),
    ("negative quantity", "-1", 422, "Choose between 0 and 99."),
    ("quantity over the line limit", "100", 422, "Choose between 0 and 99."),
    ("huge quantity", HUGE_NUMBER, 422, "Choose between 0 and 99."),
    ("10 000-character quantity", LONG_TEXT, 422, "Not a valid integer value."),
    ("more than is in stock", "4", 409, "Brass Pen: you asked for 4, only 3 left."),
]


@pytest.mark.parametrize(("case", "quantity", "status", "message"), UPDATE_CASES,
                         ids=[c[0] for c in UPDATE_CASES])
def test_changing_a_quantity_with_bad_input_says_why_and_changes_nothing(
    app, client, products, case, quantity, status, message
):
    assert add_to_cart(client, products["PEN"], 2).status_code == 303
    before = snapshot(app)
    response = post_form(client, f"/cart/lines/{products['PEN']}", {"quantity": quantity})
    assert_refused(response, status, message)
    assert snapshot(app) == before


@pytest.mark.parametrize("product", ["not in the cart", "unknown"])
def test_changing_a_line_that_is_not_in_the_cart_is_a_404(app, client, products, product):
    assert add_to_cart(client, products["PEN"], 2).status_code == 303
    product_id = {"not in the cart": products["MUG"], "unknown": 999999}[product]
    before = snapshot(app)
    response = post_form(client, f"/cart/lines/{product_id}", {"quantity": "1"})
    assert_refused(response, 404, "That item is not in your cart.")
    assert snapshot(app) == before


@pytest.mark.parametrize("path", ["/cart/lines/1", "/cart/lines/1/remove"])
def test_changing_a_cart_that_does_not_exist_is_a_404(app, client, products, path):
    before = snapshot(app)
    assert_refused(post_form(client, path, {"quantity": "1"}), 404, "Your cart is empty.")
    assert snapshot(app) == before


# An id no database integer holds (tests/hostile/test_ids.py) is not routed either.
@pytest.mark.parametrize("path", ["/cart/lines/-1", "/cart/lines/abc", "/cart/lines/1.5",
                                  "/cart/lines/-1/remove", "/cart/lines/abc/remove",
                                  f"/cart/lines/{HUGE_NUMBER}",
                                  f"/cart/lines/{HUGE_NUMBER}/remove"])
def test_a_line_id_that_is_not_a_whole_number_is_a_404(app, client, products, path):
    assert add_to_cart(client, products["PEN"], 2).status_code == 303
    before = snapshot(app)
    assert_refused(post_form(client, path, {"quantity": "1"}), 404, "not found")
    assert snapshot(app) == before


@pytest.mark.parametrize("product", ["unknown", "largest id"])
def test_removing_a_line_that_is_not_in_the_cart_changes_nothing(app, client, products,
                                                                 product):
    assert add_to_cart(client, products["PEN"], 2).status_code == 303
    product_id = {"unknown": 999999, "largest id": 2**31 - 1}[product]
    before = snapshot(app)
    response = post_form(client, f"/cart/lines/{product_id}/remove", {})
    # Removing is idempotent (a double click must not fail): nothing to remove is no error.
    assert response.status_code == 303
    assert snapshot(app) == before
    assert "That item was no longer in your cart." in client.get("/cart/").get_data(as_text=True)


