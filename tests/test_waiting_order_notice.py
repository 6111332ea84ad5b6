"""Back from the payment page: cart, checkout and catalog remember the order waiting to be paid."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from checkout.db import now_utc
from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import StockHold
from checkout.services import discounts, upkeep
from tests.accounts_support import make_shopper, signed_in_browser
from tests.conftest import csrf_token
from tests.factories import ProductFactory
from tests.shop import (
    add_to_cart,
    checkout_form,
    follow_success,
    place_and_get_session,
    post_form,
    submit_checkout,
)
from tests.state import guest_token, only_order, stock_of, text_of

NOTICE = "You have an order waiting for payment"
BANK_ACCOUNT = {
    "BANK_TRANSFER": True,
    "BANK_TRANSFER_HOLD_HOURS": 72,
    "BANK_TRANSFER_ACCOUNT_NAME": "Fernhill Supply Ltd",
    "BANK_TRANSFER_IBAN": "GB33BUKB20201555555555",
    "BANK_TRANSFER_BIC": "BUKBGB22",
    "BANK_TRANSFER_BANK_NAME": "Example Bank",
}


@pytest.fixture
def waiting(app, client, sandbox, products) -> dict:
    """A guest placed an order for the last vase and pressed Back on the payment page."""
    session_id = place_and_get_session(client, products["VASE"], 1)
    number = only_order(app).number
    token = guest_token(app, number)
    return {
        "session_id": session_id,
        "number": number,
        "resume": f"/checkout/orders/{number}/pay?t={token}",
        "cancel": f"/checkout/orders/{number}/cancel?t={token}",
    }


def links_to(page: str, attribute: str, url: str) -> bool:
    """Whether the page links to `url`'s path with a link token of its own: a token carries
    the second it was signed, so the page's may differ from the fixture's by a tick (the
    tests that post to the fixture's link show the tokens are good)."""
    path = url.split("?t=", 1)[0]
    return re.search(rf'{attribute}="{re.escape(path)}\?t=[^"]+"', page) is not None


def test_the_cart_says_an_order_is_waiting_and_offers_resume_and_change(client, waiting):
    page = text_of(client.get("/cart/"))
    assert f"{NOTICE}: {waiting['number']}, total $99.00." in page
    assert links_to(page, "action", waiting["resume"]) and "Resume payment" in page
    assert links_to(page, "action", waiting["cancel"]) and "Change my order" in page


def test_the_checkout_page_says_so_too(client, products, waiting):
    add_to_cart(client, products["MUG"], 1)
    page = text_of(client.get("/checkout/"))
    assert f"{NOTICE}: {waiting['number']}, total $99.00." in page
    assert links_to(page, "action", waiting["resume"])


def test_resume_from_the_notice_goes_back_to_the_open_session(client, sandbox, waiting):
    response = post_form(client, waiting["resume"])
    assert response.status_code == 303
    assert response.headers["Location"] == sandbox.retrieve_session(waiting["session_id"])["url"]


def test_the_shoppers_own_hold_is_not_sold_out_to_them(app, client, products, waiting):
    vase = text_of(client.get("/products/vase"))
    assert "In your order waiting for payment" in vase and "Sold out" not in vase
    assert links_to(vase, "href", waiting["resume"])
    catalog = text_of(client.get("/"))
    assert "In your order waiting for payment" in catalog and "Sold out" not in catalog
    # Another browser just sees the last vase gone.
    other = text_of(app.test_client().get("/products/vase"))
    assert "Sold out" in other and "waiting for payment" not in other
    assert NOTICE not in text_of(app.test_client().get("/cart/"))


def test_change_my_order_cancels_it_and_puts_the_items_back_in_the_cart(
    app, client, sandbox, products, waiting
):
    add_to_cart(client, products["MUG"], 2)
    response = post_form(client, waiting["cancel"])
    assert response.status_code == 303 and response.headers["Location"].endswith("/cart/")
    assert only_order(app).status == OrderStatus.CANCELLED
    assert stock_of(app, products["VASE"]) == (1, 0)
    assert sandbox.retrieve_session(waiting["session_id"])["status"] == "expired"
    cart = text_of(client.get("/cart/"))
    assert NOTICE not in cart
    assert re.search(rf'id="qty-{products["VASE"]}"[^>]*value="1"', cart)
    assert re.search(rf'id="qty-{products["MUG"]}"[^>]*value="2"', cart)
    assert "Only 1 left" in text_of(client.get("/products/vase"))


def test_the_notice_goes_once_the_order_is_paid(client, sandbox, waiting):
    result = sandbox.pay(waiting["session_id"])
    assert result.ok
    follow_success(client, result.redirect_url)
    assert NOTICE not in text_of(client.get("/cart/"))
    vase = text_of(client.get("/products/vase"))
    assert "Sold out" in vase and "waiting for payment" not in vase


def test_the_notice_goes_once_the_order_expires(app, client, waiting):
    with app.app_context():
        db.session.execute(StockHold.__table__.update().values(
            expires_at=now_utc() - timedelta(minutes=1)))
        db.session.commit()
        assert upkeep.expire_lapsed_holds() == 1
        db.session.remove()
    assert only_order(app).status == OrderStatus.EXPIRED
    assert NOTICE not in text_of(client.get("/cart/"))


def test_a_signed_in_shopper_sees_their_waiting_orders_on_any_browser(app, sandbox, products):
    make_shopper(app, "grace@example.com")
    laptop = signed_in_browser(app, "grace@example.com")
    place_and_get_session(laptop, products["VASE"], 1)
    add_to_cart(laptop, products["PEN"], 1)
    place_and_get_session(laptop, products["PEN"], 1)
    phone = signed_in_browser(app, "grace@example.com")
    page = text_of(phone.get("/cart/"))
    assert "You have 2 orders waiting for payment" in page
    assert page.count(">Resume payment</button>") == 2
    assert page.count(">Change my order</button>") == 2
    assert "In your order waiting for payment" in text_of(phone.get("/products/vase"))
    # Signed out, that browser knows nothing of them.
    post_form(phone, "/account/logout")
    assert "waiting for payment" not in text_of(phone.get("/cart/"))


def test_the_catalog_asks_once_whatever_the_number_of_products(app, client, products, waiting):
    with app.app_context():
        for n in range(6):
            ProductFactory(sku=f"EXTRA{n}", on_hand=2)
        db.session.remove()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if "stock_hold" in statement:
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = text_of(client.get("/"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert "In your order waiting for payment" in page
    assert len(statements) == 1, statements


def test_change_my_order_puts_the_discount_code_back_on_the_cart_too(app, client, products):
    with app.app_context():
        discounts.create(discounts.DiscountTerms(code="TENOFF", amount_off=1000))
        db.session.remove()
    add_to_cart(client, products["VASE"], 1)
    assert client.post("/cart/discount", data={"csrf_token": csrf_token(client),
                                               "code": "TENOFF"}).status_code == 303
    place_and_get_session(client, products["MUG"], 1)
    number = only_order(app).number
    post_form(client, f"/checkout/orders/{number}/cancel?t={guest_token(app, number)}")
    cart = text_of(client.get("/cart/"))
    assert "Code TENOFF is on your cart." in " ".join(re.sub(r"<[^>]+>", " ", cart).split())
    assert "−$10.00" in cart


def test_an_order_paid_by_bank_transfer_offers_its_bank_details_instead(app, client, products):
    saved = {key: app.config.get(key) for key in BANK_ACCOUNT}
    app.config.update(BANK_ACCOUNT)
    try:
        add_to_cart(client, products["PEN"], 1)
        assert submit_checkout(client, payment_method="bank_transfer").status_code == 303
        number = only_order(app).number
        pay = f"/checkout/orders/{number}/pay?t={guest_token(app, number)}"
        page = text_of(client.get("/cart/"))
        assert f"{NOTICE}: {number}, total $12.50." in page
        assert f'action="{pay}"' in page and ">See how to pay</button>" in page
        assert ">Resume payment</button>" not in page
        response = post_form(client, pay)
        assert response.status_code == 303
        assert f"/checkout/orders/{number}/bank-transfer?t=" in response.headers["Location"]
    finally:
        app.config.update(saved)


def test_signing_out_leaves_nothing_of_the_account_on_this_browser(app, sandbox, products):
    make_shopper(app, "grace@example.com")
    laptop = signed_in_browser(app, "grace@example.com")
    place_and_get_session(laptop, products["VASE"], 1)
    # A checkout refused for want of stock keeps what was typed, for this shopper only.
    add_to_cart(laptop, products["PEN"], 3)
    hidden = checkout_form(laptop)
    place_and_get_session(app.test_client(), products["PEN"], 1)
    assert submit_checkout(laptop, hidden, name="Grace Hopper").status_code == 409
    assert NOTICE in text_of(laptop.get("/cart/"))

    post_form(laptop, "/account/logout")
    assert "waiting for payment" not in text_of(laptop.get("/cart/"))
    assert "waiting for payment" not in text_of(laptop.get("/products/vase"))
    add_to_cart(laptop, products["MUG"], 1)
    assert "Grace Hopper" not in text_of(laptop.get("/checkout/"))
