"""Paying in a real browser (issue 10): good, declined and 3-D Secure cards on the sandbox's
page, Back from it and resume, "Change my order", and the last unit bought by two browsers.

One served shop for the module; each journey uses its own products where stock matters, so
the order they run in changes nothing.
"""

import re
import time
from dataclasses import dataclass

from playwright.sync_api import Page, expect
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import CheckoutAttempt, Order, Payment, Product, Stock, WebhookEvent
from checkout.services import inventory
from tests.e2e.support import (
    DECLINED_CARD,
    GOOD_CARD,
    THREE_D_SECURE_CARD,
    add_to_cart,
    fill_address,
    fill_card,
    order_number,
)
from tests.served_support import ServedShop

PAY_PAGE = re.compile(r"/sandbox/stripe/pay/(cs_[A-Za-z0-9_]+)$")
CONFIRMED = "your order is confirmed"
# "Pay $12.34", not "Pay by bank debit (settles later)".
PAY_BUTTON = re.compile(r"^Pay \D*\d[\d.,]*$")


@dataclass
class OrderRow:
    status: str
    total: int
    lines: list[tuple[str, int]]
    payments: list[tuple[str, int]]
    session_ids: list[str]


def _order(shop: ServedShop, number: str) -> OrderRow:
    with shop.app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        assert order is not None, number
        payments = list(db.session.scalars(select(Payment).where(Payment.order_id == order.id)))
        row = OrderRow(
            status=str(order.status), total=order.total,
            lines=[(line.title, line.quantity) for line in order.lines],
            payments=[(str(p.status), p.amount) for p in payments],
            session_ids=[p.checkout_session_id for p in payments if p.checkout_session_id],
        )
        db.session.remove()
        return row


def _stock(shop: ServedShop, slug: str) -> tuple[int, int]:
    """The product's (on_hand, held)."""
    with shop.app.app_context():
        stock = db.session.scalar(
            select(Stock).join(Product, Product.id == Stock.product_id).where(Product.slug == slug))
        found = (stock.on_hand, stock.held)
        db.session.remove()
        return found


def _set_on_hand(shop: ServedShop, slug: str, units: int) -> None:
    with shop.app.app_context():
        product = db.session.scalar(select(Product).where(Product.slug == slug))
        change = units - product.stock.on_hand
        assert inventory.adjust_on_hand(product.id, change, note="e2e: the last unit",
                                        user_id=None) is not None
        db.session.commit()
        db.session.remove()
    assert _stock(shop, slug) == (units, 0)


def _webhook_handled(shop: ServedShop, session_id: str) -> bool:
    with shop.app.app_context():
        outcomes = list(db.session.scalars(select(WebhookEvent.outcome).where(
            WebhookEvent.type == "checkout.session.completed",
            WebhookEvent.object_id == session_id)))
        db.session.remove()
    return bool(outcomes) and "failed" not in outcomes


def _eventually(check, what: str, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"never happened: {what}")


def _to_payment_page(page: Page, email: str, *, name: str = "Ada Lovelace") -> str:
    """From a filled cart: fill checkout, continue, land on the sandbox's page; its session id."""
    page.get_by_role("link", name="Check out").click()
    fill_address(page, email=email, name=name)
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(PAY_PAGE)
    return PAY_PAGE.search(page.url).group(1)


def _submit_card(page: Page, email: str, card: str) -> None:
    fill_card(page, email, card)
    page.get_by_role("button", name=PAY_BUTTON).click()


def _pay(page: Page, email: str, card: str = GOOD_CARD) -> str:
    """Pay on the sandbox's page; wait for the shop's thanks; return the order number."""
    _submit_card(page, email, card)
    expect(page.get_by_text(CONFIRMED)).to_be_visible()
    return order_number(page)


def test_a_guest_buys_two_items_by_card(page: Page, shop: ServedShop, shots):
    mugs, notebooks = _stock(shop, "ceramic-mug"), _stock(shop, "linen-notebook")
    add_to_cart(page, shop, "ceramic-mug", 2)
    add_to_cart(page, shop, "linen-notebook")
    rows = page.locator("table.lines tbody tr")
    expect(rows).to_have_count(2)
    shots(page, "cart with two items")

    session_id = _to_payment_page(page, "guest@example.com")
    expect(page.get_by_text("Dipped Ceramic Mug")).to_be_visible()
    expect(page.get_by_text("Linen Hardcover Notebook")).to_be_visible()
    expect(page.get_by_text("Qty 2")).to_be_visible()
    shots(page, "payment page")

    number = _pay(page, "guest@example.com")
    expect(page.get_by_role("heading", name=re.compile("order is confirmed"))).to_be_visible()
    shots(page, "payment confirmed")

    # The webhook lands too: the order is paid once, and the held units are sold.
    _eventually(lambda: _webhook_handled(shop, session_id), "checkout.session.completed handled")
    order = _order(shop, number)
    assert order.status == "payment_confirmed"
    assert sorted(order.lines) == [("Dipped Ceramic Mug", 2), ("Linen Hardcover Notebook", 1)]
    assert order.payments == [("succeeded", order.total)]
    assert order.session_ids == [session_id]
    assert _stock(shop, "ceramic-mug") == (mugs[0] - 2, mugs[1])
    assert _stock(shop, "linen-notebook") == (notebooks[0] - 1, notebooks[1])

    page.locator(".order-link-box a").click()
    expect(page.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    expect(page.locator(".order-head .status")).to_have_text("Payment confirmed")
    items = page.locator(".order-summary .summary-lines li")
    expect(items).to_have_count(2)
    expect(items.filter(has_text="Dipped Ceramic Mug")).to_contain_text("× 2")
    expect(items.filter(has_text="Linen Hardcover Notebook")).to_contain_text("× 1")
    shots(page, "order page")


def test_a_declined_card_then_a_good_one(page: Page, shop: ServedShop, shots):
    add_to_cart(page, shop, "canvas-tote")
    session_id = _to_payment_page(page, "declined@example.com")

    _submit_card(page, "declined@example.com", DECLINED_CARD)
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("Your card was declined. Try another card.")
    expect(page).to_have_url(PAY_PAGE)
    assert PAY_PAGE.search(page.url).group(1) == session_id
    # Nothing typed about the card is shown back; the shopper can pay at once.
    expect(page.get_by_label("Card number")).to_have_value("")
    expect(page.get_by_role("button", name=PAY_BUTTON)).to_be_enabled()
    shots(page, "card declined")

    number = _pay(page, "declined@example.com")
    shots(page, "paid with another card")
    _eventually(lambda: _webhook_handled(shop, session_id), "checkout.session.completed handled")
    order = _order(shop, number)
    assert order.status == "payment_confirmed"
    assert order.payments == [("succeeded", order.total)]


def test_three_d_secure_completed(page: Page, shop: ServedShop, shots):
    add_to_cart(page, shop, "beeswax-candle")
    _to_payment_page(page, "secure@example.com")
    _submit_card(page, "secure@example.com", THREE_D_SECURE_CARD)
    expect(page.get_by_role("heading", name="Authenticate your payment")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/pay/cs_[A-Za-z0-9_]+/authenticate$"))
    shots(page, "challenge")

    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_text(CONFIRMED)).to_be_visible()
    shots(page, "paid after the challenge")
    number = order_number(page)
    order = _eventually(lambda: (o := _order(shop, number)).payments and o,
                        "the payment recorded")
    assert order.status == "payment_confirmed"
    assert order.payments == [("succeeded", order.total)]


def test_three_d_secure_failed_then_tried_again(page: Page, shop: ServedShop, shots):
    add_to_cart(page, shop, "glass-water-bottle")
    session_id = _to_payment_page(page, "unsure@example.com")
    _submit_card(page, "unsure@example.com", THREE_D_SECURE_CARD)
    page.get_by_role("button", name="Fail authentication").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "We are unable to authenticate your payment method")
    expect(page.get_by_role("heading", name="Pay with card")).to_be_visible()
    expect(page.get_by_role("button", name=PAY_BUTTON)).to_be_enabled()
    shots(page, "challenge failed")
    number = _number_waiting(shop, session_id)
    order = _order(shop, number)
    assert order.status == "pending_payment"
    assert order.payments == []

    # The shopper tries again, and this time the bank is satisfied.
    _submit_card(page, "unsure@example.com", THREE_D_SECURE_CARD)
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_text(CONFIRMED)).to_be_visible()
    assert order_number(page) == number
    shots(page, "paid on the second try")
    _eventually(lambda: _order(shop, number).status == "payment_confirmed", "the order paid")


def _number_waiting(shop: ServedShop, session_id: str) -> str:
    """The number of the order whose open checkout attempt is `session_id`."""
    with shop.app.app_context():
        number = db.session.scalar(
            select(Order.number).join(CheckoutAttempt, CheckoutAttempt.order_id == Order.id)
            .where(CheckoutAttempt.session_id == session_id))
        db.session.remove()
    assert number, session_id
    return number
