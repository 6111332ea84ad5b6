"""One walk through every page a shopper can open (and the staff's orders pages), shared by the
browser checks that look at each page: axe-core in test_accessibility, the phone's width in
test_phone_layout.

The walk sets up what it needs on the served shop (a product without an image, one that sells
out in the cart, an order that expired unpaid, a staff invitation), buys as a guest by card
through a declined card and 3-D Secure, signs up, resets the password, buys by bank transfer
signed in, and calls `look(page, what)` on each page once it shows what a person would see.
"""

import re
import time
from collections.abc import Callable

from itsdangerous import URLSafeSerializer
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import select

from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import Product, User
from checkout.services.accounts import password_link_token
from checkout.services.orders import ORDER_LINK_SALT
from checkout.services.reminders import restore_token
from checkout.services.staff_accounts import INVITATION
from tests.e2e.support import (
    DECLINED_CARD,
    THREE_D_SECURE_CARD,
    TIMEOUT_MS,
    fill_address,
    fill_card,
    link_in_mail,
    order_number,
    register,
    sign_in,
)
from tests.factories import OrderFactory, ProductFactory
from tests.served_support import ServedShop

SHOPPER_EMAIL = "grace.hopper@example.com"
SHOPPER_PASSWORD = "an accessible password 42"
NEW_PASSWORD = "another accessible password 43"

Look = Callable[[Page, str], None]


def _continue(page: Page) -> None:
    page.get_by_role("button", name=re.compile("Continue to payment")).click()


def _pay(page: Page) -> None:
    page.get_by_role("button", name="Pay ").first.click()


def _add(page: Page, base: str, slug: str) -> None:
    page.goto(f"{base}/products/{slug}")
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile("/cart/$"))


def _set_up_catalogue(shop: ServedShop) -> tuple[str, str]:
    """A product without an image, and an order that expired unpaid with its restore token."""
    with shop.app.app_context():
        ProductFactory(sku="NO-IMAGE", slug="no-image", title="Linen Tea Towel", price=900,
                       image=None, on_hand=5)
        ProductFactory(sku="LAST-ONE", slug="last-one", title="Walnut Spoon", price=1200,
                       image="img/products/ceramic-mug.svg", on_hand=1)
        expired = OrderFactory(status=OrderStatus.EXPIRED, email="late@example.com")
        db.session.commit()
        number, token = expired.number, restore_token(expired)
        db.session.remove()
    return number, token


def _sell_out(shop: ServedShop, slug: str) -> None:
    """Take the product's last units off the shelf, as another shopper's purchase would."""
    with shop.app.app_context():
        product = db.session.scalar(select(Product).where(Product.slug == slug))
        product.stock.on_hand = product.stock.held
        db.session.commit()
        db.session.remove()


def _invitation_link(shop: ServedShop) -> str:
    with shop.app.app_context():
        user = User(email="new.staff@example.com")
        user.set_password("a password nobody knows 1234")
        db.session.add(user)
        db.session.commit()
        token = password_link_token(user, INVITATION)
        db.session.remove()
    return f"{shop.base}/welcome/{token}"




def _reload_until_visible(page: Page, what: Locator, seconds: float = 20) -> None:
    """Reload until `what` shows: the refund's outcome arrives from Stripe's side in its time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            expect(what.first).to_be_visible(timeout=1_000)
            return
        except AssertionError:
            page.reload()
    expect(what.first).to_be_visible()


def walk_every_shopper_page(browser: Browser, shop: ServedShop, look: Look,
                            viewport: dict[str, int] | None = None) -> None:
    """Open every shopper page in each of its states, and the staff orders pages; `look` at each."""
    expired_order, restore = _set_up_catalogue(shop)
    base = shop.base
    page = browser.new_context(viewport=viewport).new_page()
    page.context.set_default_timeout(TIMEOUT_MS)

    # Browsing, and a cart in each of its states.
    page.goto(f"{base}/")
    look(page, "catalog")
    page.goto(f"{base}/products/ceramic-mug")
    look(page, "product")
    page.goto(f"{base}/products/no-image")
    look(page, "product without an image")
    page.goto(f"{base}/products/no-such-product")
    look(page, "not found")
    page.goto(f"{base}/cart/")
    look(page, "empty cart")
    _add(page, base, "ceramic-mug")
    _add(page, base, "last-one")
    page.goto(f"{base}/cart/")
    look(page, "cart with lines")
    _sell_out(shop, "last-one")
    page.goto(f"{base}/products/last-one")
    look(page, "sold-out product")
    page.goto(f"{base}/cart/")
    expect(page.get_by_text("is sold out").first).to_be_visible()
    look(page, "cart with a sold-out line")
    page.goto(f"{base}/checkout/")
    look(page, "checkout refused for a sold-out line")
    page.goto(f"{base}/cart/")
    page.get_by_role("row", name=re.compile("Walnut Spoon")).get_by_role(
        "button", name="Remove it").click()
    expect(page.get_by_text("Walnut Spoon")).to_have_count(0)

    # Checkout, with and without errors, then the sandbox's page in each state.
    page.goto(f"{base}/checkout/")
    look(page, "checkout")
    _continue(page)
    expect(page.locator(".error-summary")).to_be_visible()
    look(page, "checkout with errors")
    fill_address(page, email="ada@example.com")
    _continue(page)
    expect(page.get_by_label("Card number")).to_be_visible()
    look(page, "sandbox payment page")
    _pay(page)
    expect(page.locator(".field-error").first).to_be_visible()
    look(page, "sandbox payment page with invalid card")
    fill_card(page, "ada@example.com", DECLINED_CARD)
    _pay(page)
    expect(page.get_by_role("alert")).to_be_visible()
    look(page, "sandbox payment page with a declined card")

    # Back in the shop while the order waits for payment.
    page.get_by_role("link", name=re.compile("Back to")).click()
    expect(page).to_have_url(re.compile(r"/checkout/orders/.+/pay"))
    look(page, "the shop's payment page (resume or cancel)")
    page.goto(f"{base}/cart/")
    expect(page.get_by_role("button", name=re.compile("Resume payment")).first).to_be_visible()
    look(page, "cart while an order waits for payment")
    page.goto(f"{base}/checkout/")
    look(page, "checkout while an order waits for payment")
    page.get_by_role("button", name=re.compile("Resume payment")).first.click()
    expect(page.get_by_label("Card number")).to_be_visible()
    fill_card(page, "ada@example.com", THREE_D_SECURE_CARD)
    _pay(page)
    expect(page.get_by_role("button", name="Complete authentication")).to_be_visible()
    look(page, "sandbox 3-D Secure challenge")
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_text("your order is confirmed")).to_be_visible()
    look(page, "success")
    number = order_number(page)

    # The order through its guest link, its invoice, an expired link.
    page.get_by_role("link", name=re.compile("order", re.I)).filter(
        has_text=re.compile("order", re.I)).first.click()
    expect(page).to_have_url(re.compile(rf"/orders/{number}\?t="))
    look(page, "order page (guest link)")
    guest_link = page.url
    page.locator(".documents").get_by_role("link", name="view").click()
    expect(page).to_have_url(re.compile(rf"/orders/{number}/invoice\?t="))
    look(page, "invoice")
    undated = URLSafeSerializer(shop.env["SECRET_KEY"], salt=ORDER_LINK_SALT).dumps(number)
    response = page.goto(f"{base}/orders/{number}?t={undated}")
    assert response is not None and response.status == 410
    look(page, "expired order link")
    page.goto(f"{base}/orders/{number}/new-link")
    look(page, "new order link form")
    page.goto(f"{base}/checkout/orders/{expired_order}/restore?t={restore}")
    look(page, "restore an expired order")

    # Accounts: sign in with an error, register, forgot/reset password.
    shopper = browser.new_context(viewport=viewport).new_page()
    shopper.context.set_default_timeout(TIMEOUT_MS)
    sign_in(shopper, shop, SHOPPER_EMAIL, "not the password")
    look(shopper, "sign in with an error")
    shopper.goto(f"{base}/account/register")
    look(shopper, "register")
    shopper.get_by_role("button", name="Create account").click()
    look(shopper, "register with errors")
    register(shopper, SHOPPER_EMAIL, SHOPPER_PASSWORD)
    shopper.goto(f"{base}/account/forgot")
    look(shopper, "forgot password")
    shopper.get_by_label("Email").fill(SHOPPER_EMAIL)
    shopper.get_by_role("button", name=re.compile("link|reset", re.I)).click()
    look(shopper, "forgot password sent")
    shopper.goto(link_in_mail(shop, SHOPPER_EMAIL, "password", "/account/reset/"))
    look(shopper, "reset password")
    shopper.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    shopper.get_by_label(re.compile("Repeat")).fill(NEW_PASSWORD)
    shopper.get_by_role("button").filter(has_text=re.compile("password", re.I)).last.click()
    expect(shopper).to_have_url(re.compile("/account/"))

    # Signed in: an order by bank transfer, then the account's pages.
    _add(shopper, base, "ceramic-mug")
    shopper.goto(f"{base}/checkout/")
    fill_address(shopper, email=None)
    shopper.locator("#payment-bank-transfer").check()
    _continue(shopper)
    expect(shopper.get_by_text("GB33BUKB20201555555555").first).to_be_visible()
    look(shopper, "bank transfer details")
    own_order = order_number(shopper)
    shopper.goto(f"{base}/orders/{own_order}")
    look(shopper, "order page (signed in)")
    for what, path in (("account", "/account/"), ("my orders", "/account/orders"),
                       ("addresses", "/account/addresses"), ("settings", "/account/settings")):
        shopper.goto(base + path)
        look(shopper, what)
    shopper.get_by_role("button", name="Change password").click()
    expect(shopper.locator(".error-summary")).to_be_visible()
    look(shopper, "change password with errors")
    shopper.goto(f"{base}/account/settings")
    shopper.get_by_role("button", name="Send me a confirmation link").click()
    shopper.goto(link_in_mail(shop, SHOPPER_EMAIL, "onfirm", "/account/verify/"))
    look(shopper, "confirm e-mail address")

    # A staff invitation, and the staff pages a shopper's order is handled on.
    page.goto(_invitation_link(shop))
    look(page, "staff invitation")
    staff = browser.new_context(viewport=viewport).new_page()
    staff.context.set_default_timeout(TIMEOUT_MS)
    sign_in(staff, shop)
    staff.goto(f"{base}/staff/orders/")
    look(staff, "staff orders")
    staff.goto(f"{base}/staff/orders/{number}")
    look(staff, "staff order page")

    # A refund in full: the staff's form, then the shopper's page and credit note.
    staff.get_by_role("link", name="Refund…").click()
    look(staff, "staff refund form")
    staff.get_by_label("Reason").select_option(index=1)
    staff.get_by_role("button", name="Refund", exact=True).click()
    expect(staff.get_by_text(re.compile("Refund(ed)? .*[0-9]")).first).to_be_visible()
    look(staff, "staff refund form after a refund")
    page.goto(guest_link)
    _reload_until_visible(page, page.get_by_text("Credit note"))
    look(page, "order page with a refund")
    page.locator(".documents").get_by_role("link", name="view").nth(1).click()
    expect(page).to_have_url(re.compile(rf"/orders/{number}/credit-notes/"))
    look(page, "credit note")
    for done in (page, shopper, staff):
        done.context.close()
