"""Issue 10 in a real browser: axe-core finds no serious or critical violation on any page a
shopper can open, on the sandbox's payment pages (with and without errors) or on the staff
orders list and order page.

Which pages there are is read from the URL map: every GET route of the shopper blueprints must
be visited by the walk below or be named in NOT_PAGES with the reason it is not a page, so a
new shopper page cannot go unchecked. Each page is screenshotted; the violations of all pages
are reported together, so one run says everything that is wrong.
"""

import re
from urllib.parse import urlsplit

from flask import Flask
from itsdangerous import URLSafeSerializer
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from werkzeug.exceptions import MethodNotAllowed, NotFound

from checkout import create_app
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
    Screenshots,
    fill_address,
    fill_card,
    order_number,
    serious_accessibility_violations,
    sign_in,
)
from tests.e2e.test_back_office import _eventually, _mails_to
from tests.factories import OrderFactory, ProductFactory
from tests.served_support import ServedShop

SHOPPER_BLUEPRINTS = ("catalog", "cart", "checkout", "orders", "account", "order_links",
                      "invitation")
# GET routes of the shopper blueprints that answer with something other than an HTML page.
NOT_PAGES = {
    "orders.invoice_pdf": "a PDF document, not an HTML page",
    "orders.credit_note_pdf": "a PDF document, not an HTML page",
    "orders.credit_note": ("the invoice's own document template (invoices/_document.html) "
                           "with a credit note's numbers: checked through orders.invoice"),
}

SHOPPER_EMAIL = "grace.hopper@example.com"
SHOPPER_PASSWORD = "an accessible password 42"
NEW_PASSWORD = "another accessible password 43"


def shopper_page_endpoints(app: Flask) -> set[str]:
    """Every endpoint a GET reaches in the shopper blueprints."""
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and rule.endpoint.split(".")[0] in SHOPPER_BLUEPRINTS}


class Audit:
    """Runs axe-core on each page visited, screenshots it and remembers what it found."""

    def __init__(self, shop: ServedShop, shots: Screenshots) -> None:
        self.base = shop.base
        self.urls = shop.app.url_map.bind("127.0.0.1")
        self.shots = shots
        self.visited: set[str] = set()
        self.checked: list[str] = []
        self.failures: list[str] = []

    def _endpoint(self, page: Page) -> str:
        url = urlsplit(page.url)
        if f"{url.scheme}://{url.netloc}" != self.base:
            return f"elsewhere {url.netloc}"
        try:
            return self.urls.match(url.path, method="GET")[0]
        except MethodNotAllowed:
            # A form's answer re-rendered at its POST address (a page with errors).
            return "POST " + self.urls.match(url.path, method="POST")[0]
        except NotFound:
            return "not found"

    def check(self, page: Page, what: str) -> None:
        page.wait_for_load_state()
        self.visited.add(self._endpoint(page))
        self.checked.append(what)
        self.shots(page, what)
        found = serious_accessibility_violations(page)
        if found:
            self.failures.append(f"{what} ({page.url}):\n    " + "\n    ".join(found))


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


def _link_in_mail(shop: ServedShop, address: str, subject_has: str, path: str) -> str:
    mails = _eventually(lambda: _mails_to(shop, address, subject_has), f"{subject_has} mail")
    body = mails[-1].get_payload(decode=True) if not mails[-1].is_multipart() else \
        mails[-1].get_payload(0).get_payload(decode=True)
    link = re.search(rf"https?://\S+{re.escape(path)}\S+", body.decode())
    assert link, body
    return link.group(0)


def test_not_pages_are_shopper_routes():
    """Each route NOT_PAGES excuses still exists (a renamed one would excuse nothing)."""
    app = create_app({
        "TESTING": True, "SECRET_KEY": "url-map", "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "PAYMENTS": "sandbox", "SANDBOX_DATABASE_URL": "sqlite://", "SANDBOX_BACKGROUND": False,
        "JOBS_IMMEDIATE": True,
    })
    endpoints = shopper_page_endpoints(app)
    assert len(endpoints) > 20, endpoints
    assert set(NOT_PAGES) <= endpoints


def test_every_shopper_page_has_no_serious_violation(browser: Browser, shop: ServedShop, shots):
    expired_order, restore = _set_up_catalogue(shop)
    audit = Audit(shop, shots)
    base = shop.base
    page = browser.new_context().new_page()
    page.context.set_default_timeout(15_000)

    # Browsing, and a cart in each of its states.
    page.goto(f"{base}/")
    audit.check(page, "catalog")
    page.goto(f"{base}/products/ceramic-mug")
    audit.check(page, "product")
    page.goto(f"{base}/products/no-image")
    audit.check(page, "product without an image")
    page.goto(f"{base}/products/no-such-product")
    audit.check(page, "not found")
    page.goto(f"{base}/cart/")
    audit.check(page, "empty cart")
    _add(page, base, "ceramic-mug")
    _add(page, base, "last-one")
    page.goto(f"{base}/cart/")
    audit.check(page, "cart with lines")
    _sell_out(shop, "last-one")
    page.goto(f"{base}/products/last-one")
    audit.check(page, "sold-out product")
    page.goto(f"{base}/cart/")
    expect(page.get_by_text("is sold out").first).to_be_visible()
    audit.check(page, "cart with a sold-out line")
    page.goto(f"{base}/checkout/")
    audit.check(page, "checkout refused for a sold-out line")
    page.goto(f"{base}/cart/")
    page.get_by_role("row", name=re.compile("Walnut Spoon")).get_by_role(
        "button", name="Remove it").click()
    expect(page.get_by_text("Walnut Spoon")).to_have_count(0)

    # Checkout, with and without errors, then the sandbox's page in each state.
    page.goto(f"{base}/checkout/")
    audit.check(page, "checkout")
    _continue(page)
    expect(page.locator(".error-summary")).to_be_visible()
    audit.check(page, "checkout with errors")
    fill_address(page, email="ada@example.com")
    _continue(page)
    expect(page.get_by_label("Card number")).to_be_visible()
    audit.check(page, "sandbox payment page")
    _pay(page)
    expect(page.locator(".field-error").first).to_be_visible()
    audit.check(page, "sandbox payment page with invalid card")
    fill_card(page, "ada@example.com", DECLINED_CARD)
    _pay(page)
    expect(page.get_by_role("alert")).to_be_visible()
    audit.check(page, "sandbox payment page with a declined card")

    # Back in the shop while the order waits for payment.
    page.get_by_role("link", name=re.compile("Back to")).click()
    expect(page).to_have_url(re.compile(r"/checkout/orders/.+/pay"))
    audit.check(page, "the shop's payment page (resume or cancel)")
    page.goto(f"{base}/cart/")
    expect(page.get_by_role("button", name=re.compile("Resume payment")).first).to_be_visible()
    audit.check(page, "cart while an order waits for payment")
    page.goto(f"{base}/checkout/")
    audit.check(page, "checkout while an order waits for payment")
    page.get_by_role("button", name=re.compile("Resume payment")).first.click()
    expect(page.get_by_label("Card number")).to_be_visible()
    fill_card(page, "ada@example.com", THREE_D_SECURE_CARD)
    _pay(page)
    expect(page.get_by_role("button", name="Complete authentication")).to_be_visible()
    audit.check(page, "sandbox 3-D Secure challenge")
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_text("your order is confirmed")).to_be_visible()
    audit.check(page, "success")
    number = order_number(page)

    # The order through its guest link, its invoice, an expired link.
    page.get_by_role("link", name=re.compile("order", re.I)).filter(
        has_text=re.compile("order", re.I)).first.click()
    expect(page).to_have_url(re.compile(rf"/orders/{number}\?t="))
    guest_link = page.url
    audit.check(page, "order page (guest link)")
    token = urlsplit(guest_link).query.split("t=", 1)[1]
    _eventually(lambda: page.goto(f"{base}/orders/{number}/invoice?t={token}").status == 200,
                "the invoice is issued")
    audit.check(page, "invoice")
    undated = URLSafeSerializer(shop.env["SECRET_KEY"], salt=ORDER_LINK_SALT).dumps(number)
    response = page.goto(f"{base}/orders/{number}?t={undated}")
    assert response is not None and response.status == 410
    audit.check(page, "expired order link")
    page.goto(f"{base}/orders/{number}/new-link")
    audit.check(page, "new order link form")
    page.goto(f"{base}/checkout/orders/{expired_order}/restore?t={restore}")
    audit.check(page, "restore an expired order")

    # Accounts: sign in with an error, register, forgot/reset password.
    shopper = browser.new_context().new_page()
    shopper.context.set_default_timeout(15_000)
    sign_in(shopper, shop, SHOPPER_EMAIL, "not the password")
    audit.check(shopper, "sign in with an error")
    shopper.goto(f"{base}/account/register")
    audit.check(shopper, "register")
    shopper.get_by_role("button", name="Create account").click()
    audit.check(shopper, "register with errors")
    shopper.get_by_label("Email").fill(SHOPPER_EMAIL)
    shopper.get_by_label("Password", exact=True).fill(SHOPPER_PASSWORD)
    shopper.get_by_label("Repeat password").fill(SHOPPER_PASSWORD)
    shopper.get_by_role("button", name="Create account").click()
    expect(shopper).to_have_url(re.compile("/account/login"))
    shopper.goto(f"{base}/account/forgot")
    audit.check(shopper, "forgot password")
    shopper.get_by_label("Email").fill(SHOPPER_EMAIL)
    shopper.get_by_role("button", name=re.compile("link|reset", re.I)).click()
    audit.check(shopper, "forgot password sent")
    shopper.goto(_link_in_mail(shop, SHOPPER_EMAIL, "password", "/account/reset/"))
    audit.check(shopper, "reset password")
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
    audit.check(shopper, "bank transfer details")
    own_order = order_number(shopper)
    shopper.goto(f"{base}/orders/{own_order}")
    audit.check(shopper, "order page (signed in)")
    for what, path in (("account", "/account/"), ("my orders", "/account/orders"),
                       ("addresses", "/account/addresses"), ("settings", "/account/settings")):
        shopper.goto(base + path)
        audit.check(shopper, what)
    shopper.get_by_role("button", name="Change password").click()
    expect(shopper.locator(".error-summary")).to_be_visible()
    audit.check(shopper, "change password with errors")
    shopper.goto(f"{base}/account/settings")
    shopper.get_by_role("button", name="Send me a confirmation link").click()
    shopper.goto(_link_in_mail(shop, SHOPPER_EMAIL, "onfirm", "/account/verify/"))
    audit.check(shopper, "confirm e-mail address")

    # A staff invitation, and the staff pages a shopper's order is handled on.
    page.goto(_invitation_link(shop))
    audit.check(page, "staff invitation")
    staff = browser.new_context().new_page()
    sign_in(staff, shop)
    staff.goto(f"{base}/staff/orders/")
    audit.check(staff, "staff orders")
    staff.goto(f"{base}/staff/orders/{number}")
    audit.check(staff, "staff order page")

    missed = shopper_page_endpoints(shop.app) - audit.visited - set(NOT_PAGES)
    assert not missed, f"shopper pages neither visited nor listed in NOT_PAGES: {missed}"
    assert audit.failures == [], "\n".join(audit.failures)
