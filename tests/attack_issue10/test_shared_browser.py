"""A browser two people use in turn: what the first left behind after signing out."""

from tests.accounts_support import make_shopper, signed_in_browser
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
