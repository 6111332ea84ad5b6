"""A browser two people use in turn: what the first left behind after signing out."""

from tests.accounts_support import PASSWORD, make_shopper, signed_in_browser
from tests.conftest import csrf_token
from tests.shop import place_and_get_session
from tests.state import only_order, text_of


def _sign_out(client) -> None:
    assert client.post("/account/logout",
                       data={"csrf_token": csrf_token(client)}).status_code == 303


def test_the_success_page_in_the_history_shows_nothing_of_an_account_signed_out(
    app, sandbox, products
):
    make_shopper(app, "grace@example.com")
    shared = signed_in_browser(app, "grace@example.com")
    session_id = place_and_get_session(shared, products["VASE"], 1)
    assert sandbox.pay(session_id).ok
    order = only_order(app)
    success = f"/checkout/success?session_id={session_id}"
    # While signed in, the page is hers.
    assert order.number in text_of(shared.get(success))
    _sign_out(shared)
    # The next person opens the same address from the browser's history.
    page = text_of(shared.get(success))
    assert order.number not in page
    assert "grace@example.com" not in page
    assert "/orders/" not in page and "?t=" not in page


def test_after_sign_out_the_next_person_neither_sees_nor_changes_an_order_placed_before(
    app, client, sandbox, products
):
    # Someone checks out as a guest (ada@example.com), then signs in to an account under
    # another address (so the order stays a guest order), then signs out and leaves.
    session_id = place_and_get_session(client, products["VASE"], 1)
    order = only_order(app)
    make_shopper(app, "grace@example.com")
    assert client.post("/account/login", data={
        "csrf_token": csrf_token(client), "email": "grace@example.com",
        "password": PASSWORD}).status_code == 303
    _sign_out(client)
    # The next person at this browser.
    cart = text_of(client.get("/cart/"))
    assert "waiting for payment" not in cart and order.number not in cart
    assert "waiting for payment" not in text_of(client.get("/products/vase"))
    page = text_of(client.get(f"/checkout/success?session_id={session_id}"))
    assert order.number not in page and "ada@example.com" not in page


def test_signing_out_everywhere_forgets_them_too(app, client, sandbox, products):
    place_and_get_session(client, products["VASE"], 1)
    make_shopper(app, "grace@example.com")
    assert client.post("/account/login", data={
        "csrf_token": csrf_token(client), "email": "grace@example.com",
        "password": PASSWORD}).status_code == 303
    assert "waiting for payment" in text_of(client.get("/cart/"))
    assert client.post("/account/sign-out-everywhere", data={
        "csrf_token": csrf_token(client, "/account/settings")}).status_code == 303
    assert "waiting for payment" not in text_of(client.get("/cart/"))
