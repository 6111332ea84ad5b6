"""Bad input on every form and page: a clear 4xx message, nothing created, never a 500.

Every case sends a real CSRF token unless the token is what is being tested, and compares a
snapshot of the database before and after (tests/state.py) to prove nothing was created or
changed. Exceptions answer as in production (a 500 page), so a crash fails on its status.
"""

import secrets
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from checkout.extensions import db
from checkout.models import Product
from tests.conftest import csrf_token
from tests.shop import ADDRESS, add_to_cart, place_and_get_session, submit_checkout
from tests.state import guest_token, only_order, snapshot, text_of

CSRF_MESSAGE = "This form is out of date or was not sent from our site."
NOT_FOR_SALE = "That product is not for sale."
NO_ORDER = "We could not find that order."
HUGE_NUMBER = "9" * 40
LONG_TEXT = "x" * 10_000
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _crash_as_500(app, monkeypatch):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)


def assert_refused(response, status: int, message: str) -> None:
    body = text_of(response)
    assert response.status_code == status, body[:3000]
    assert message in body, body[:3000]


def post_form(client: FlaskClient, path: str, data: dict[str, str | None], *,
              token: str | None = "real"):
    """POST a form; a None value leaves the field out; token "real" fetches a real one."""
    fields = {k: v for k, v in data.items() if v is not None}
    if token == "real":
        fields["csrf_token"] = csrf_token(client)
    elif token is not None:
        fields["csrf_token"] = token
    return client.post(path, data=fields)


@dataclass(frozen=True)
class Shop:
    mug: int
    pen: int
    vase: int
    number: str
    token: str
    session_id: str


@pytest.fixture
def shop(app, client, products) -> Shop:
    """A guest who placed an order for a pen and then put two mugs in the cart."""
    session_id = place_and_get_session(client, products["PEN"], 1)
    number = only_order(app).number
    assert add_to_cart(client, products["MUG"], 2).status_code == 303
    return Shop(products["MUG"], products["PEN"], products["VASE"], number,
                guest_token(app, number), session_id)


@pytest.fixture
def shopper(app) -> str:
    from checkout.services.accounts import register_shopper

    with app.app_context():
        email = register_shopper("grace@example.com", PASSWORD).email
        db.session.remove()
    return email


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
    assert_refused(post_form(client, "/cart/add", data), status, message)
    assert snapshot(app) == before


def test_adding_beyond_what_is_left_counts_what_is_already_in_the_cart(app, client, products):
    assert add_to_cart(client, products["PEN"], 3).status_code == 303
    before = snapshot(app)
    response = add_to_cart(client, products["PEN"], 1)
    assert_refused(response, 409, "Brass Pen: you asked for 4, only 3 left.")
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


@pytest.mark.parametrize("product", ["not in the cart", "unknown", "huge"])
def test_changing_a_line_that_is_not_in_the_cart_is_a_404(app, client, products, product):
    assert add_to_cart(client, products["PEN"], 2).status_code == 303
    product_id = {"not in the cart": products["MUG"], "unknown": 999999,
                  "huge": HUGE_NUMBER}[product]
    before = snapshot(app)
    response = post_form(client, f"/cart/lines/{product_id}", {"quantity": "1"})
    assert_refused(response, 404, "That item is not in your cart.")
    assert snapshot(app) == before


@pytest.mark.parametrize("path", ["/cart/lines/1", "/cart/lines/1/remove"])
def test_changing_a_cart_that_does_not_exist_is_a_404(app, client, products, path):
    before = snapshot(app)
    assert_refused(post_form(client, path, {"quantity": "1"}), 404, "Your cart is empty.")
    assert snapshot(app) == before


@pytest.mark.parametrize("path", ["/cart/lines/-1", "/cart/lines/abc", "/cart/lines/1.5",
                                  "/cart/lines/-1/remove", "/cart/lines/abc/remove"])
def test_a_line_id_that_is_not_a_whole_number_is_a_404(app, client, products, path):
    assert add_to_cart(client, products["PEN"], 2).status_code == 303
    before = snapshot(app)
    assert_refused(post_form(client, path, {"quantity": "1"}), 404, "not found")
    assert snapshot(app) == before


@pytest.mark.parametrize("product", ["unknown", "huge"])
def test_removing_a_line_that_is_not_in_the_cart_changes_nothing(app, client, products,
                                                                 product):
    assert add_to_cart(client, products["PEN"], 2).status_code == 303
    product_id = {"unknown": 999999, "huge": HUGE_NUMBER}[product]
    before = snapshot(app)
    response = post_form(client, f"/cart/lines/{product_id}/remove", {})
    # Removing is idempotent (a double click must not fail): nothing to remove is no error.
    assert response.status_code == 303
    assert snapshot(app) == before
    assert "That item was no longer in your cart." in client.get("/cart/").get_data(as_text=True)


# Checkout form ----------------------------------------------------------------------------

CHECKOUT_CASES = [
    ("everything missing", {k: None for k in ADDRESS}, "Enter your email address."),
    ("missing email", {"email": None}, "Enter your email address."),
    ("invalid email", {"email": "not-an-email"}, "Enter an email address like name@example.com."),
    ("email with a control character", {"email": "ada\x00@example.com"},
     "Enter an email address like name@example.com."),
    ("10 000-character email", {"email": LONG_TEXT + "@example.com"},
     "Field cannot be longer than 254 characters."),
    ("missing name", {"name": ""}, "Enter the name of the person receiving the order."),
    ("10 000-character name", {"name": LONG_TEXT}, "Field cannot be longer than 120 characters."),
    ("name with a NUL", {"name": "Ada\x00Lovelace"}, "Remove the control characters."),
    ("address with an escape", {"line1": "12\x1b[2J Row"}, "Remove the control characters."),
    ("second line with a newline", {"line2": "Flat\n3"}, "Remove the control characters."),
    ("missing address", {"line1": "   "}, "Enter the street address."),
    ("missing city", {"city": None}, "Enter the town or city."),
    ("missing postal code", {"postal_code": ""}, "Enter the postal code."),
    ("US postal code that is not a ZIP", {"postal_code": "ABCDE"},
     "Check the postal code: a US ZIP code looks like 12345 or 12345-6789."),
    ("US ZIP given for the UK", {"country": "GB"},
     "Check the postal code: a UK postcode looks like SW1A 1AA."),
    ("Canadian code given for Germany", {"country": "DE", "postal_code": "K1A 0B1"},
     "Check the postal code: a German postal code has 5 digits."),
    ("postal code of symbols", {"country": "IE", "postal_code": "!!!"},
     "Check the postal code: letters, digits, spaces and dashes."),
    ("10 000-character postal code", {"postal_code": LONG_TEXT},
     "Field cannot be longer than 20 characters."),
    ("unknown country code", {"country": "XX"}, "We do not ship there yet"),
    ("country the shop does not ship to", {"country": "BR"}, "We do not ship there yet"),
    ("no country chosen", {"country": ""}, "Choose the country to ship to."),
    ("10 000-character country", {"country": LONG_TEXT}, "We do not ship there yet"),
    ("missing checkout token", {"checkout_token": None}, "This checkout form is out of date."),
    ("malformed checkout token", {"checkout_token": "short"},
     "This checkout form is out of date."),
    ("10 000-character checkout token", {"checkout_token": LONG_TEXT},
     "This checkout form is out of date."),
]


@pytest.mark.parametrize(("case", "overrides", "message"), CHECKOUT_CASES,
                         ids=[c[0] for c in CHECKOUT_CASES])
def test_checkout_with_bad_details_says_why_and_places_nothing(
    app, client, sandbox, products, case, overrides, message
):
    assert add_to_cart(client, products["MUG"], 2).status_code == 303
    data = {**ADDRESS, "checkout_token": secrets.token_urlsafe(24), **overrides}
    before = snapshot(app)
    response = post_form(client, "/checkout/", data)
    assert_refused(response, 422, message)
    assert snapshot(app) == before
    assert sandbox.events() == []


def test_checkout_with_an_empty_cart_places_nothing_and_says_so(app, client, products):
    data = {**ADDRESS, "checkout_token": secrets.token_urlsafe(24)}
    before = snapshot(app)
    response = post_form(client, "/checkout/", data)
    # The shopper is sent to the (empty) cart with the reason, as GET /checkout/ does.
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/cart/")
    assert "Your cart is empty: add something first." in text_of(client.get("/cart/"))
    assert snapshot(app) == before


def test_checkout_when_the_stock_ran_out_meanwhile_places_nothing(app, client, products):
    assert add_to_cart(client, products["PEN"], 3).status_code == 303
    place_and_get_session(app.test_client(), products["PEN"], 2)
    before = snapshot(app)
    response = submit_checkout(client)
    assert_refused(response, 409, "Brass Pen: you asked for 3, only 1 left.")
    assert snapshot(app) == before


# Resume and cancel payment: unknown or forged order numbers and tokens ------------------

def _order_paths(shop: Shop, other_token: str) -> dict[str, tuple[str, str]]:
    tampered = shop.token[:-2] + ("AA" if not shop.token.endswith("AA") else "BB")
    return {
        "unknown number": ("ZZZZ-ZZZZ", shop.token),
        "no token": (shop.number, ""),
        "garbage token": (shop.number, "abc"),
        "tampered token": (shop.number, tampered),
        "another order's token": (shop.number, other_token),
        "10 000-character number": ("A" * 10_000, shop.token),
        "10 000-character token": (shop.number, LONG_TEXT),
    }


ORDER_PATH_CASES = list(_order_paths(Shop(0, 0, 0, "", "", ""), ""))


@pytest.fixture
def other_order_token(app, products) -> str:
    other = app.test_client()
    place_and_get_session(other, products["MUG"], 1)
    with app.app_context():
        from sqlalchemy import select

        from checkout.models import Order
        from checkout.services import orders

        newest = db.session.scalars(select(Order).order_by(Order.id.desc())).first()
        token = orders.access_token(newest)
        db.session.remove()
    return token


@pytest.mark.parametrize("action", ["pay", "cancel"])
@pytest.mark.parametrize("case", ORDER_PATH_CASES)
def test_resuming_or_cancelling_someone_elses_or_no_order_is_a_404(
    app, client, sandbox, shop, other_order_token, action, case
):
    number, token = _order_paths(shop, other_order_token)[case]
    before = snapshot(app)
    response = post_form(client, f"/checkout/orders/{number}/{action}?t={token}", {})
    assert_refused(response, 404, NO_ORDER)
    assert snapshot(app) == before
    assert sandbox.retrieve_session(shop.session_id)["status"] == "open"


@pytest.mark.parametrize("page", ["/checkout/orders/{}/pay?t={}", "/orders/{}?t={}"])
@pytest.mark.parametrize("case", ORDER_PATH_CASES)
def test_the_payment_and_order_pages_of_someone_elses_or_no_order_are_a_404(
    app, client, shop, other_order_token, page, case
):
    number, token = _order_paths(shop, other_order_token)[case]
    assert_refused(client.get(page.format(number, token)), 404, NO_ORDER)


def test_a_get_to_a_post_only_address_is_refused(client, shop):
    response = client.get(f"/checkout/orders/{shop.number}/cancel?t={shop.token}")
    assert response.status_code == 405


# Sign in, sign up -------------------------------------------------------------------------

MISMATCH = "That email and password do not match an account."
LOGIN_CASES = [
    ("missing email", {"email": None}, "Enter your email address."),
    ("missing password", {"password": None}, "Enter your password."),
    ("wrong password", {"password": "wrong password"}, MISMATCH),
    ("unknown email", {"email": "nobody@example.com"}, MISMATCH),
    ("email with a NUL", {"email": "grace\x00@example.com"}, "Remove the control characters."),
    ("email with control characters", {"email": "grace@example.com\x1b\x7f"},
     "Remove the control characters."),
    ("10 000-character email", {"email": LONG_TEXT}, "Field cannot be longer than 254 characters."),
    ("10 000-character password", {"password": LONG_TEXT},
     "Field cannot be longer than 200 characters."),
]


@pytest.mark.parametrize(("case", "overrides", "message"), LOGIN_CASES,
                         ids=[c[0] for c in LOGIN_CASES])
def test_signing_in_with_bad_input_says_why_and_signs_nobody_in(
    app, client, shopper, case, overrides, message
):
    data = {"email": shopper, "password": PASSWORD, **overrides}
    before = snapshot(app)
    assert_refused(post_form(client, "/account/login", data), 422, message)
    assert snapshot(app) == before
    assert client.get("/account/orders").status_code == 302


REGISTER_CASES = [
    ("missing email", {"email": None}, "Enter your email address."),
    ("invalid email", {"email": "grace-at-example.com"},
     "Enter an email address like name@example.com."),
    ("email with a NUL", {"email": "new\x00@example.com"},
     "Enter an email address like name@example.com."),
    ("10 000-character email", {"email": LONG_TEXT + "@example.com"},
     "Field cannot be longer than 254 characters."),
    ("email already registered", {"email": "GRACE@example.com"},
     "An account with this email already exists. Sign in instead."),
    ("missing password", {"password": None, "confirm": None}, "Choose a password."),
    ("short password", {"password": "short", "confirm": "short"},
     "Use between 10 and 200 characters."),
    ("10 000-character password", {"password": LONG_TEXT, "confirm": LONG_TEXT},
     "Use between 10 and 200 characters."),
    ("passwords that differ", {"confirm": "something else"}, "The passwords do not match."),
]


@pytest.mark.parametrize(("case", "overrides", "message"), REGISTER_CASES,
                         ids=[c[0] for c in REGISTER_CASES])
def test_signing_up_with_bad_input_says_why_and_creates_no_account(
    app, client, shopper, case, overrides, message
):
    data = {"email": "new@example.com", "password": PASSWORD, "confirm": PASSWORD, **overrides}
    before = snapshot(app)
    assert_refused(post_form(client, "/account/register", data), 422, message)
    assert snapshot(app) == before
    assert client.get("/account/orders").status_code == 302


# Pages with bad addresses -----------------------------------------------------------------

NO_PAGE = "There is no such page of products."
NO_CHECKOUT = "We could not find that checkout."
GET_CASES = [
    ("/?page=abc", NO_PAGE),
    ("/?page=1.5", NO_PAGE),
    ("/?page=-1", NO_PAGE),
    ("/?page=0", NO_PAGE),
    ("/?page=999999", NO_PAGE),
    ("/?page=" + HUGE_NUMBER, NO_PAGE),
    ("/?page=2", NO_PAGE),
    ("/products/nonexistent", "We could not find that product."),
    ("/products/" + "x" * 10_000, "We could not find that product."),
    ("/checkout/success", NO_CHECKOUT),
    ("/checkout/success?session_id=junk", NO_CHECKOUT),
    ("/checkout/success?session_id=cs_test_unknown", NO_CHECKOUT),
    ("/checkout/success?session_id=cs_" + "x" * 10_000, NO_CHECKOUT),
    ("/orders/ZZZZ-ZZZZ", NO_ORDER),
    ("/checkout/orders/ZZZZ-ZZZZ/pay", NO_ORDER),
]


@pytest.mark.parametrize(("path", "message"), GET_CASES, ids=[c[0][:60] for c in GET_CASES])
def test_a_page_address_that_names_nothing_is_a_404(app, client, products, path, message):
    before = snapshot(app)
    assert_refused(client.get(path), 404, message)
    assert snapshot(app) == before


UNACCEPTABLE = "That address contains a character we cannot accept."
NUL_PATHS = [
    "/orders/%00",
    "/orders/ZZZZ-ZZZZ%00",
    "/checkout/orders/%00/pay",
    "/products/%00",
    "/checkout/success?session_id=cs_%00",
    "/?page=%00",
]


@pytest.mark.parametrize("path", NUL_PATHS)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_address_with_a_nul_byte_is_refused_before_it_reaches_the_database(
    app, client, shop, path, method
):
    # PostgreSQL cannot even compare text containing NUL: it used to answer 500 there.
    before = snapshot(app)
    if method == "GET":
        response = client.get(path)
    else:
        response = post_form(client, path.replace("/pay", "/cancel"), {})
    assert_refused(response, 400, UNACCEPTABLE)
    assert snapshot(app) == before


def test_a_webhook_address_with_a_nul_byte_answers_json(client):
    response = client.post("/webhooks/stripe?x=%00", data=b"{}")
    assert response.status_code == 400
    assert response.get_json() == {"error": UNACCEPTABLE}


@pytest.mark.parametrize("cookie", ["unknown-cart", LONG_TEXT[:3000], "\x00"])
def test_a_forged_cart_cookie_is_an_empty_cart(app, client, products, cookie):
    client.set_cookie("cart", cookie)
    before = snapshot(app)
    response = client.get("/cart/")
    assert response.status_code == 200
    assert "Your cart is empty." in text_of(response)
    assert snapshot(app) == before


# Bodies over the limit ---------------------------------------------------------------------

def test_a_webhook_body_over_the_size_limit_is_refused(app, client):
    from tests.test_webhooks import sign

    body = b"{" + b" " * (1024 * 1024) + b"}"
    before = snapshot(app)
    response = client.post("/webhooks/stripe", data=body,
                           headers={"Stripe-Signature": sign(body),
                                    "Content-Type": "application/json"})
    assert response.status_code == 413
    assert snapshot(app) == before


def test_a_form_body_over_the_size_limit_is_refused(app, client, products):
    data = {"product_id": str(products["MUG"]), "quantity": "1", "note": "x" * (1024 * 1024)}
    before = snapshot(app)
    response = post_form(client, "/cart/add", data)
    assert response.status_code == 413
    assert snapshot(app) == before
