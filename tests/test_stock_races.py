"""Many shoppers at once against the shop served by several gunicorn worker processes.

On the suite's PostgreSQL pass the served shop runs on PostgreSQL too, so these are real
row-lock races between processes: the flash sale (500 shoppers, 100 units) and carts that
list the same two products in opposite orders, which deadlocked while stock rows were
locked in cart-line order.
"""

import re
import secrets
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, update

from checkout.db import now_utc
from checkout.extensions import db
from checkout.models import Cart, CartLine, Order, OrderLine, Product, Stock, StockHold
from checkout.models.inventory import HoldStatus
from checkout.services import inventory
from checkout.web.shopper import CART_COOKIE
from tests.served_support import serve_shop

SHOPPERS_AT_ONCE = 32
# What a shopper gets who opens the checkout page after the stock ran out: the cart, saying so.
SENT_TO_CART = 302
ADDRESS = {
    "email": "racer@example.com", "name": "Ada Racer", "line1": "1 Main St",
    "city": "Springfield", "postal_code": "12345", "country": "US",
    "shipping_method": "standard",
}
CARD = {"number": "4242 4242 4242 4242", "exp": "12 / 40", "cvc": "123", "method": "card"}
HIDDEN = re.compile(r'name="(csrf_token|checkout_token)" type="hidden" value="([^"]+)"')


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("races")
    # Rate limits are per client address, and every shopper here is 127.0.0.1.
    with serve_shop(folder, workers=4, on_suite_database=True,
                    settings={"RATELIMIT_ENABLED": "0"}) as served:
        yield served


def _product_ids(shop, *skus: str) -> list[int]:
    with shop.app.app_context():
        by_sku = dict(db.session.execute(
            select(Product.sku, Product.id).where(Product.sku.in_(skus))).all())
        return [by_sku[sku] for sku in skus]


def _set_stock(shop, on_hand: dict[int, int]) -> None:
    with shop.app.app_context():
        for product_id, units in on_hand.items():
            db.session.execute(update(Stock).where(Stock.product_id == product_id)
                               .values(on_hand=units, held=0))
        db.session.commit()


def _carts(shop, contents: list[list[int]]) -> list[str]:
    """Guest carts holding one of each listed product, in that line order; their tokens."""
    tokens = [secrets.token_urlsafe(24) for _ in contents]
    with shop.app.app_context():
        for token, products in zip(tokens, contents, strict=True):
            cart = Cart(token=token)
            db.session.add(cart)
            db.session.flush()
            for product_id in products:  # one flush per line keeps line ids in list order
                db.session.add(CartLine(cart_id=cart.id, product_id=product_id, quantity=1))
                db.session.flush()
        db.session.commit()
    return tokens


def _check_out(base: str, cart_token: str) -> tuple[int, str]:
    """One shopper: open the checkout page with their cart, place the order."""
    with requests.Session() as browser:
        browser.cookies.set(CART_COOKIE, cart_token, domain="127.0.0.1")
        page = browser.get(f"{base}/checkout/", timeout=60, allow_redirects=False)
        if page.status_code == 302 and page.headers["Location"].endswith("/cart/"):
            # The stock ran out before the form opened: the cart says so instead.
            return SENT_TO_CART, browser.get(base + "/cart/", timeout=60).text
        if page.status_code != 200:
            return page.status_code, page.text
        placed = browser.post(f"{base}/checkout/", timeout=60, allow_redirects=False,
                              data={**dict(HIDDEN.findall(page.text)), **ADDRESS})
        return placed.status_code, placed.text


def _held(shop, product_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """Per product: units held, units in active holds, and the invariant's complaints."""
    with shop.app.app_context():
        problems = inventory.check_invariant()
        assert problems == [], problems
        result = {}
        for product_id in product_ids:
            stock = db.session.get(Stock, product_id)
            in_holds = db.session.scalar(
                select(db.func.coalesce(db.func.sum(StockHold.quantity), 0)).where(
                    StockHold.product_id == product_id, StockHold.status == HoldStatus.ACTIVE))
            result[product_id] = (stock.on_hand, stock.held, in_holds)
        return result


def _all_at_once(shop, tokens: list[str]) -> list[tuple[int, str]]:
    """Every shopper opens the checkout page, then all of them press "Place order" together."""

    def open_page(token: str) -> tuple[requests.Session, dict[str, str]]:
        browser = requests.Session()
        browser.cookies.set(CART_COOKIE, token, domain="127.0.0.1")
        page = browser.get(f"{shop.base}/checkout/", timeout=60)
        assert page.status_code == 200, page.text
        return browser, dict(HIDDEN.findall(page.text))

    with ThreadPoolExecutor(SHOPPERS_AT_ONCE) as pool:
        ready = list(pool.map(open_page, tokens))
    start = threading.Barrier(len(ready))

    def place(browser: requests.Session, hidden: dict[str, str]) -> tuple[int, str]:
        with browser:
            start.wait()
            placed = browser.post(f"{shop.base}/checkout/", timeout=180, allow_redirects=False,
                                  data={**hidden, **ADDRESS})
            return placed.status_code, placed.text

    with ThreadPoolExecutor(len(ready)) as pool:
        return list(pool.map(lambda shopper: place(*shopper), ready))


def test_a_flash_sale_holds_exactly_the_units_there_are_and_tells_everyone_else(shop):
    """500 checkouts sent at the same moment (they queue at four worker processes)."""
    [product] = _product_ids(shop, "FH-CDL-01")
    _set_stock(shop, {product: 100})
    answers = _all_at_once(shop, _carts(shop, [[product]] * 500))

    codes = Counter(code for code, _ in answers)
    assert codes == {303: 100, 409: 400}, codes
    for code, body in answers:
        if code == 409:
            assert "no longer available" in body and "sold out" in body
    assert _held(shop, [product]) == {product: (100, 100, 100)}

    # Nobody pays: once the holds run out, every unit is back on sale.
    with shop.app.app_context():
        db.session.execute(update(StockHold).where(StockHold.product_id == product)
                           .values(expires_at=now_utc() - timedelta(minutes=1)))
        db.session.commit()
    shop.flask("expire-holds")
    assert _held(shop, [product]) == {product: (100, 0, 0)}
    with shop.app.app_context():
        statuses = Counter(db.session.scalars(
            select(Order.status).join(OrderLine).where(OrderLine.product_id == product)).all())
    assert statuses == {"expired": 100}, statuses


def _check_out_and_pay(base: str, cart_token: str) -> tuple[int, str]:
    """One shopper who places the order, pays with a card and lands on the success page."""
    with requests.Session() as browser:
        browser.cookies.set(CART_COOKIE, cart_token, domain="127.0.0.1")
        page = browser.get(f"{base}/checkout/", timeout=60, allow_redirects=False)
        if page.status_code == 302 and page.headers["Location"].endswith("/cart/"):
            return SENT_TO_CART, browser.get(base + "/cart/", timeout=60).text
        placed = browser.post(f"{base}/checkout/", timeout=60, allow_redirects=False,
                              data={**dict(HIDDEN.findall(page.text)), **ADDRESS})
        if placed.status_code != 303:
            return placed.status_code, placed.text
        paid = browser.post(placed.headers["Location"], timeout=60, allow_redirects=False,
                            data={**CARD, "email": ADDRESS["email"], "name": ADDRESS["name"]})
        if paid.status_code != 303:
            return paid.status_code, paid.text
        # The success page confirms the payment there and then (convert_holds), not waiting
        # for the webhook, so conversions race the other shoppers' holds.
        thanks = browser.get(paid.headers["Location"], timeout=60)
        return (303 if thanks.status_code == 200 else thanks.status_code), thanks.text


def test_carts_listing_two_products_in_opposite_orders_never_deadlock(shop):
    """Holds (checkouts) and conversions (payments) of opposite-order carts, all at once."""
    first, second = _product_ids(shop, "FH-MUG-01", "FH-PEN-01")
    _set_stock(shop, {first: 100, second: 100})
    contents = [[first, second] if n % 2 else [second, first] for n in range(240)]
    tokens = _carts(shop, contents)
    # Every sixth shopper pays at once; the rest only check out.
    payers = set(tokens[::6])
    with ThreadPoolExecutor(SHOPPERS_AT_ONCE) as pool:
        answers = list(pool.map(
            lambda token: (_check_out_and_pay if token in payers else _check_out)(
                shop.base, token), tokens))

    codes = Counter(code for code, _ in answers)
    assert codes[303] == 100 and codes[409] + codes[SENT_TO_CART] == 140, codes
    for code, body in answers:
        if code == SENT_TO_CART:
            assert "sold out" in body or "only" in body, body
    with shop.app.app_context():
        statuses = Counter(db.session.scalars(
            select(Order.status).join(OrderLine).where(OrderLine.product_id == first)).all())
    paid = statuses["payment_confirmed"]
    assert paid > 0 and statuses == {"payment_confirmed": paid, "pending_payment": 100 - paid}
    # Paid units left the building's free pool and their holds at once; the rest are held.
    assert _held(shop, [first, second]) == {
        first: (100 - paid, 100 - paid, 100 - paid),
        second: (100 - paid, 100 - paid, 100 - paid),
    }
