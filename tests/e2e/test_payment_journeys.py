"""Paying in a real browser (issue 10): good, declined and 3-D Secure cards on the sandbox's
page, Back from it and resume, "Change my order", and the last unit bought by two browsers.

One served shop for the module; each journey uses its own products where stock matters, so
the order they run in changes nothing.
"""

import re
from dataclasses import dataclass

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import CheckoutAttempt, Order, Payment, WebhookEvent
from tests.e2e.support import (
    DECLINED_CARD,
    GOOD_CARD,
    THREE_D_SECURE_CARD,
    TIMEOUT_MS,
    add_to_cart,
    eventually,
    fill_address,
    fill_card,
    order_number,
    set_on_hand,
    stock_of,
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






def _webhook_handled(shop: ServedShop, session_id: str) -> bool:
    with shop.app.app_context():
        outcomes = list(db.session.scalars(select(WebhookEvent.outcome).where(
            WebhookEvent.type == "checkout.session.completed",
            WebhookEvent.object_id == session_id)))
        db.session.remove()
    return bool(outcomes) and "failed" not in outcomes




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
    mugs, notebooks = stock_of(shop, "ceramic-mug"), stock_of(shop, "linen-notebook")
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
    eventually(lambda: _webhook_handled(shop, session_id), "checkout.session.completed handled")
    order = _order(shop, number)
    assert order.status == "payment_confirmed"
    assert sorted(order.lines) == [("Dipped Ceramic Mug", 2), ("Linen Hardcover Notebook", 1)]
    assert order.payments == [("succeeded", order.total)]
    assert order.session_ids == [session_id]
    assert stock_of(shop, "ceramic-mug") == (mugs[0] - 2, mugs[1])
    assert stock_of(shop, "linen-notebook") == (notebooks[0] - 1, notebooks[1])

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
    eventually(lambda: _webhook_handled(shop, session_id), "checkout.session.completed handled")
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
    order = eventually(lambda: (o := _order(shop, number)).payments and o,
                        "the payment recorded")
    assert order.status == "payment_confirmed"
    assert order.payments == [("succeeded", order.total)]


def test_three_d_secure_failed_then_tried_again(page: Page, shop: ServedShop, shots):
    add_to_cart(page, shop, "glass-water-bottle")
    session_id = _to_payment_page(page, "unsure@example.com")
    _submit_card(page, "unsure@example.com", THREE_D_SECURE_CARD)
    page.get_by_role("button", name="Fail authentication").click()

    # Said once: the bank's words already ask for another way to pay.
    expect(page.get_by_role("alert")).to_have_text(
        "We are unable to authenticate your payment method. Please choose a different payment "
        "method and try again.")
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
    eventually(lambda: _order(shop, number).status == "payment_confirmed", "the order paid")


def _number_waiting(shop: ServedShop, session_id: str) -> str:
    """The number of the order whose open checkout attempt is `session_id`."""
    with shop.app.app_context():
        number = db.session.scalar(
            select(Order.number).join(CheckoutAttempt, CheckoutAttempt.order_id == Order.id)
            .where(CheckoutAttempt.session_id == session_id))
        db.session.remove()
    assert number, session_id
    return number


def _waiting_notice(page: Page, number: str):
    notice = page.locator("section.waiting-orders")
    expect(notice.get_by_role("heading")).to_have_text(
        re.compile(rf"^You have an order waiting for payment: {number}, total "))
    return notice


def test_back_from_the_payment_page_then_resume(page: Page, shop: ServedShop, shots):
    add_to_cart(page, shop, "cedar-plant-pot")
    session_id = _to_payment_page(page, "back@example.com")
    number = _number_waiting(shop, session_id)
    shots(page, "payment page")

    page.go_back()
    # The cart is empty (checkout emptied it) but the order waiting for payment is in view.
    expect(page).to_have_url(re.compile(r"/(cart|checkout)/$"))
    notice = _waiting_notice(page, number)
    # Not told to "add something first" beside the order it is asked to pay for.
    expect(page.get_by_text("add something first")).to_have_count(0)
    shots(page, "back at the shop")

    notice.get_by_role("button", name="Resume payment").click()
    expect(page).to_have_url(PAY_PAGE)
    assert PAY_PAGE.search(page.url).group(1) == session_id
    expect(page.get_by_text("Cedar Slat Planter")).to_be_visible()
    shots(page, "payment page again")

    assert _pay(page, "back@example.com") == number
    shots(page, "payment confirmed")
    eventually(lambda: _webhook_handled(shop, session_id), "checkout.session.completed handled")
    order = _order(shop, number)
    assert order.status == "payment_confirmed"
    assert order.payments == [("succeeded", order.total)]
    page.goto(f"{shop.base}/cart/")
    expect(page.get_by_text("Your cart is empty")).to_be_visible()
    expect(page.locator("section.waiting-orders")).to_have_count(0)


def test_change_my_order_puts_the_items_back(page: Page, shop: ServedShop, shots):
    vase = "hand-thrown-vase"
    assert stock_of(shop, vase) == (1, 0)
    add_to_cart(page, shop, vase)
    session_id = _to_payment_page(page, "change@example.com")
    number = _number_waiting(shop, session_id)
    assert stock_of(shop, vase) == (1, 1)
    page.go_back()
    _waiting_notice(page, number)

    # The shopper's own hold: not "Sold out" to them.
    page.goto(f"{shop.base}/products/{vase}")
    expect(page.locator(".stock-yours")).to_have_text("In your order waiting for payment")
    expect(page.get_by_text("Sold out")).to_have_count(0)
    shots(page, "product held for this shopper")

    page.goto(f"{shop.base}/cart/")
    _waiting_notice(page, number).get_by_role("button", name="Change my order").click()
    expect(page).to_have_url(f"{shop.base}/cart/")
    expect(page.get_by_text(f"Order {number} was cancelled and its items are back in your cart.")
           ).to_be_visible()
    rows = page.locator("table.lines tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Hand-Thrown Vase (One of a Kind)")
    expect(rows.locator(".stock")).to_have_text("Only 1 left")
    expect(page.locator("section.waiting-orders")).to_have_count(0)
    shots(page, "order changed, items back in the cart")
    assert _order(shop, number).status == "cancelled"
    assert stock_of(shop, vase) == (1, 0)

    page.goto(f"{shop.base}/products/{vase}")
    expect(page.locator(".stock-yours")).to_have_count(0)
    expect(page.get_by_role("button", name="Add to cart")).to_be_visible()

    # Checking out again works, as a new order.
    page.goto(f"{shop.base}/cart/")
    again = _to_payment_page(page, "change@example.com")
    assert again != session_id
    paid = _pay(page, "change@example.com")
    assert paid != number
    shots(page, "paid after changing the order")
    eventually(lambda: _order(shop, paid).status == "payment_confirmed", "the new order paid")
    assert stock_of(shop, vase) == (0, 0)


def _shopper(browser: Browser) -> Page:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def test_the_last_unit_bought_by_two_browsers_at_once(browser: Browser, shop: ServedShop, shots):
    wallet, title = "leather-card-wallet", "Leather Card Wallet"
    set_on_hand(shop, wallet, 1)
    names = {"ada@example.com": "Ada Byron", "bea@example.com": "Bea Hopper"}
    pages = {email: _shopper(browser) for email in names}
    try:
        for email, page in pages.items():
            add_to_cart(page, shop, wallet)
            page.get_by_role("link", name="Check out").click()
            fill_address(page, email=email, name=names[email])
        # Both submit before either answer is waited for.
        for page in pages.values():
            page.get_by_role("button", name="Continue to payment").click(no_wait_after=True)
        refused = "Some items are no longer available in the quantity you chose."
        for page in pages.values():
            expect(page.get_by_role("button", name=PAY_BUTTON).or_(page.get_by_text(refused))
                   ).to_be_visible()
        winners = [email for email, page in pages.items() if PAY_PAGE.search(page.url)]
        assert len(winners) == 1, {email: page.url for email, page in pages.items()}
        (loser,) = set(pages) - set(winners)
        won, lost = pages[winners[0]], pages[loser]
        shots(won, "the winner pays")

        # The loser is told plainly, nothing was ordered, and what they typed is still there.
        alert = lost.get_by_role("alert")
        expect(alert).to_contain_text("Nothing was ordered or charged.")
        expect(alert).to_contain_text(f"{title}: you asked for 1, sold out.")
        expect(lost.get_by_label("Full name")).to_have_value(names[loser])
        shots(lost, "the loser is told")
        assert stock_of(shop, wallet) == (1, 1)

        # Their cart marks the line, offers to remove it, and will not check out.
        alert.get_by_role("link", name="Change your cart").click()
        expect(lost).to_have_url(f"{shop.base}/cart/")
        line = lost.locator(".line-short")
        expect(line).to_contain_text(f"{title} is sold out. Remove it to check out.")
        expect(lost.get_by_role("button", name="Check out")).to_be_disabled()
        expect(lost.get_by_role("link", name="Check out")).to_have_count(0)
        shots(lost, "the loser's cart")
        lost.goto(f"{shop.base}/checkout/")
        expect(lost).to_have_url(f"{shop.base}/cart/")
        expect(lost.get_by_text("Your cart needs a change before you can check out.")
               ).to_be_visible()

        # Removing it and choosing something else: checkout has the address typed before.
        line.get_by_role("button", name="Remove it").click()
        expect(lost.get_by_text("Your cart is empty")).to_be_visible()
        add_to_cart(lost, shop, "wooden-chopping-board")
        lost.get_by_role("link", name="Check out").click()
        expect(lost.get_by_label("Email")).to_have_value(loser)
        expect(lost.get_by_label("Full name")).to_have_value(names[loser])
        expect(lost.get_by_label("City")).to_have_value("Springfield")
        shots(lost, "checkout keeps the address")
    finally:
        for page in pages.values():
            page.context.close()
