"""Issue 9, defect 6 in a real browser: under the Content-Security-Policy every page still
looks and works as before, and Chromium reports no violation on any of them.

A policy can break a page silently (a blocked stylesheet, a form whose redirect is refused):
only a browser tells, through its console.
"""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.e2e.support import buy, sign_in
from tests.served_support import ServedShop

VIOLATION = re.compile(r"Content Security Policy|Refused to|Permissions-Policy", re.I)


@pytest.fixture
def complaints(page: Page) -> Iterator[list[str]]:
    """Every policy complaint and script error the browser raises; the test ends with none.

    A 404 for /favicon.ico or for the deliberately missing page is no complaint.
    """
    heard: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if VIOLATION.search(message.text):
            heard.append(f"{message.type}: {message.text} ({page.url})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: heard.append(f"page error: {error} ({page.url})"))
    yield heard
    assert heard == []


def visit(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status < 500, (url, response and response.status)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    # The stylesheet applied: shop.css lays the body out as a column.
    assert page.evaluate("getComputedStyle(document.body).display") == "flex", url


def test_the_shoppers_pages_and_a_card_payment_raise_no_violation(
        page: Page, shop: ServedShop, complaints):
    for path in ("/", "/products/ceramic-mug", "/cart/", "/account/login", "/account/register",
                 "/account/forgot", "/no-such-page"):
        visit(page, shop.base + path)

    # The whole purchase: the checkout form's POST is redirected to the payment page and
    # back, which form-action must allow.
    number = buy(page, shop, email="csp@example.com")
    expect(page.get_by_text("your order is confirmed")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).display") == "flex"

    order_link = page.locator(f"a[href*='/orders/{number}']").first.get_attribute("href")
    visit(page, order_link if order_link.startswith("http") else shop.base + order_link)
    view = page.locator(".documents a", has_text="view")
    expect(view).to_be_visible()
    view.click()
    page.wait_for_load_state()
    # The printable invoice's own <style> applied through the nonce.
    assert "DejaVu Sans" in page.evaluate("getComputedStyle(document.body).fontFamily")


def test_the_back_office_raises_no_violation(page: Page, shop: ServedShop, complaints):
    number = buy(page, shop, email="csp-staff@example.com", bank_transfer=True)
    sign_in(page, shop)
    for path in ("/staff/", "/staff/orders/", f"/staff/orders/{number}", "/staff/products/",
                 "/staff/discounts/", "/staff/discounts/new", "/staff/products/new",
                 "/staff/accounts/", "/staff/webhooks/",
                 "/staff/refund-requests", "/staff/bank-transfers/", "/account/",
                 "/account/settings", "/account/addresses"):
        visit(page, shop.base + path)
