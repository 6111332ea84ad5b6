"""A real browser (Debian's Chromium, driven by Playwright) against the shop served for real:
gunicorn, the job worker and the in-process sandbox, as `make run` has them.

CHROMIUM names the browser binary (default: `chromium` on PATH); `.ci/run` installs Debian's.
"""

import os
import re
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.served_support import ADMIN_EMAIL, ADMIN_PASSWORD, ServedShop, serve_shop


def _chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("The browser tests need Chromium: apt-get install chromium (or set CHROMIUM).")
    return path


BANK_SETTINGS = {
    "BANK_TRANSFER": "1",
    "BANK_TRANSFER_ACCOUNT_NAME": "Fernhill Supply Ltd",
    "BANK_TRANSFER_IBAN": "GB33BUKB20201555555555",
    "BANK_TRANSFER_BIC": "BUKBGB22",
}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Iterator[ServedShop]:
    with serve_shop(tmp_path_factory.mktemp("served"), with_worker=True,
                    settings=BANK_SETTINGS) as served:
        yield served


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Page, shop: ServedShop, email: str = ADMIN_EMAIL,
            password: str = ADMIN_PASSWORD) -> None:
    if "/account/login" not in page.url:
        page.goto(f"{shop.base}/account/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def buy(page: Page, shop: ServedShop, *, email: str, product: str = "ceramic-mug",
        bank_transfer: bool = False) -> str:
    """Put one product in the cart and check out as a guest; return the order number.

    By card it pays on the sandbox's hosted page and comes back to the success page; by bank
    transfer it stops at the page with the shop's bank details.
    """
    page.goto(f"{shop.base}/products/{product}")
    page.get_by_role("button", name="Add to cart").click()
    page.goto(f"{shop.base}/checkout/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Address", exact=True).fill("1 Main St")
    page.get_by_label("City").fill("Springfield")
    page.get_by_label("Postal code").fill("12345")
    page.get_by_label("Country").select_option("US")
    page.locator("#shipping-standard").check()
    if bank_transfer:
        page.locator("#payment-bank-transfer").check()
    page.get_by_role("button", name="Continue to payment").click()
    if not bank_transfer:
        pay_by_card(page, email)
    number = re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}", page.content())
    assert number, page.content()
    return number.group(0)


def pay_by_card(page: Page, email: str) -> None:
    """Pay on the sandbox's page with a card that succeeds; wait for the shop's thanks."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 40")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("Ada Lovelace")
    page.get_by_role("button", name="Pay ").first.click()
    expect(page.get_by_text("your order is confirmed")).to_be_visible()
