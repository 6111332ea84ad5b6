"""Bad input to checkout, order pages, sign-in, sign-up and page addresses: a clear 4xx,
nothing created, never a 500.

Every case sends a real CSRF token unless the token is what is being tested, and compares a
snapshot of the database before and after (tests/state.py) to prove nothing was created or
changed. Exceptions answer as in production (a 500 page), so a crash fails on its status.
"""

import secrets

import pytest

from checkout.extensions import db
from tests.bad_input.conftest import (
    HUGE_NUMBER,
    LONG_TEXT,
    NO_ORDER,
    PASSWORD,
    Shop,
    assert_refused,
    post_form,
)
from tests.shop import (
    ADDRESS,
    add_to_cart,
    checkout_form,
    place_and_get_session,
    submit_checkout,
)
from tests.state import snapshot, text_of

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
    ("10 000-character name", {"name": LONG_TEXT},
     f"Keep the name to 120 characters: this one has {len(LONG_TEXT)}."),
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
    hidden = checkout_form(client)  # opened while the three pens were still free
    place_and_get_session(app.test_client(), products["PEN"], 2)
    before = snapshot(app)
    response = submit_checkout(client, hidden)
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
    # A taken address is not bad input: it answers as a new one (tests/test_account_enumeration).
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
    "/checkout/success?session_id=cs_test_ok&session_id=cs_%00",
    "/orders/ZZZZ-ZZZZ?t=ok&t=%00",
    "/?page=1&q%00=x",
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
