"""Issue 10, finding 2 in a real browser: no shopper or staff page scrolls sideways on a phone.

Only a browser lays a page out: at 375 px wide every page's document must be no wider than the
viewport. Each page is measured and the offenders are named together, with the elements that
stick out, so one run says everything that is wrong.
"""

import re
from decimal import Decimal

from playwright.sync_api import Browser, Page, expect

from checkout.extensions import db
from checkout.services import discounts
from tests.e2e.support import TIMEOUT_MS, buy, pay_by_card, register, sign_in
from tests.e2e.walk import walk_every_shopper_page
from tests.factories import ProductFactory
from tests.served_support import ServedShop

PHONE = {"width": 375, "height": 800}
# A long address, as real ones can be: it must wrap wherever it is shown, not widen the page.
SHOPPER_EMAIL = "ada.lovelace.countess-of-lovelace@analytical-engine-society.example.com"
SHOPPER_PASSWORD = "a phone-sized password 42"
# A product named with one long German compound: no space to break the line at.
LONG_TITLE = "Donaudampfschifffahrtsgesellschaftskapitänsmützenaufbewahrungsschachtel"

# The document's width, and what sticks out past the right edge (for the failure message).
MEASURE = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 0.5 && box.width > 0) {
      const classes = typeof el.className === 'string' ? el.className.trim() : '';
      wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                (classes ? '.' + classes.replace(/\\s+/g, '.') : '') +
                ` right=${Math.round(box.right)}`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 8)};
}"""


class Ruler:
    """Measures pages as they are visited and remembers those wider than the phone."""

    def __init__(self) -> None:
        self.measured: list[str] = []
        self.too_wide: list[str] = []

    def check(self, page: Page, what: str) -> None:
        page.wait_for_load_state()
        found = page.evaluate(MEASURE)
        self.measured.append(what)
        if found["scrollWidth"] > PHONE["width"]:
            self.too_wide.append(f"{what} ({page.url}): {found['scrollWidth']} px wide; "
                                 f"sticking out: {found['wide']}")


def _phone(browser: Browser) -> Page:
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def _fill_address(page: Page) -> None:
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Address", exact=True).fill("1 Main St")
    page.get_by_label("City").fill("Springfield")
    page.get_by_label("Postal code").fill("12345")
    page.get_by_label("Country").select_option("US")
    page.locator("#shipping-standard").check()


def _add_long_named_product(shop: ServedShop) -> None:
    with shop.app.app_context():
        ProductFactory(sku="LONG-NAME", slug="long-name", title=LONG_TITLE, price=1800,
                       image="img/products/ceramic-mug.svg", on_hand=5)
        db.session.remove()


def test_no_page_scrolls_sideways_at_375_px(browser: Browser, shop: ServedShop):
    _add_long_named_product(shop)
    ruler = Ruler()
    page = _phone(browser)
    base = shop.base

    # A shopper's account, made and signed into as a shopper would.
    page.goto(f"{base}/account/register")
    ruler.check(page, "register")
    register(page, SHOPPER_EMAIL, SHOPPER_PASSWORD)
    page.goto(f"{base}/account/forgot")
    ruler.check(page, "forgot password")
    page.goto(f"{base}/account/login")
    ruler.check(page, "sign in")
    sign_in(page, shop, SHOPPER_EMAIL, SHOPPER_PASSWORD)

    page.goto(f"{base}/")
    ruler.check(page, "catalog")
    page.goto(f"{base}/products/ceramic-mug")
    ruler.check(page, "product")
    page.get_by_role("button", name="Add to cart").click()
    page.goto(f"{base}/products/long-name")
    ruler.check(page, "product with a long name")
    page.get_by_role("button", name="Add to cart").click()
    page.goto(f"{base}/cart/")
    expect(page.locator("table.lines tbody tr")).to_have_count(2)
    ruler.check(page, "cart with lines")

    page.goto(f"{base}/checkout/")
    ruler.check(page, "checkout")
    page.get_by_role("button", name=re.compile("Continue to payment")).click()
    expect(page.locator(".has-error").first).to_be_visible()
    ruler.check(page, "checkout with errors")

    page.get_by_label("Email").fill(SHOPPER_EMAIL)
    _fill_address(page)
    page.get_by_role("button", name=re.compile("Continue to payment")).click()
    expect(page.get_by_label("Card number")).to_be_visible()
    ruler.check(page, "payment page (sandbox)")
    page.get_by_role("button", name="Pay ").first.click()
    expect(page.locator(".field-error").first).to_be_visible()
    ruler.check(page, "payment page with errors (sandbox)")
    pay_by_card(page, SHOPPER_EMAIL)
    ruler.check(page, "success")
    number = re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}", page.content()).group(0)

    page.goto(f"{base}/orders/{number}")
    expect(page.get_by_text(number).first).to_be_visible()
    ruler.check(page, "order page")
    page.goto(f"{base}/account/settings")
    ruler.check(page, "account home")
    page.goto(f"{base}/account/orders")
    expect(page.get_by_text(number).first).to_be_visible()
    ruler.check(page, "my orders")
    page.goto(f"{base}/account/addresses")
    expect(page.locator(".addresses li")).not_to_have_count(0)
    ruler.check(page, "addresses")

    staff = _phone(browser)
    sign_in(staff, shop)
    for what, path in (("staff dashboard", "/staff/"),
                       ("staff orders", "/staff/orders/"),
                       ("staff order page", f"/staff/orders/{number}"),
                       ("staff refund form", f"/staff/orders/{number}/refund"),
                       ("staff refund requests", "/staff/refund-requests"),
                       ("staff products", "/staff/products/"),
                       ("staff discounts", "/staff/discounts/")):
        response = staff.goto(base + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        ruler.check(staff, what)

    assert len(ruler.measured) == 23
    assert ruler.too_wide == [], "\n".join(ruler.too_wide)


def test_every_page_of_the_accessibility_walk_fits_at_375_px(browser: Browser, shop: ServedShop):
    # The pages test_accessibility checks, in every state it opens them in (waiting orders,
    # errors, sold-out lines, the sandbox's declined and 3-D Secure pages, expired links...).
    ruler = Ruler()
    walk_every_shopper_page(browser, shop, ruler.check, viewport=PHONE)
    assert len(ruler.measured) > 35, ruler.measured
    assert ruler.too_wide == [], "\n".join(ruler.too_wide)


# The staff pages the first test does not open: accounts, bank transfers, a discount and the
# new-discount form, a product, its stock and the new-product form, the webhook log and one event.
def test_the_other_staff_pages_fit_at_375_px(browser: Browser, shop: ServedShop):
    with shop.app.app_context():
        discounts.create(discounts.DiscountTerms(code="AUDIT-PHONE-10",
                                                 percent_off=Decimal("10")))
    shopper = browser.new_context(viewport=PHONE).new_page()
    buy(shopper, shop, email="audit.phone@example.com")
    buy(shopper, shop, email="audit.phone@example.com", product="linen-notebook",
        bank_transfer=True)

    ruler = Ruler()
    staff = _phone(browser)
    sign_in(staff, shop)
    base = shop.base
    for what, path in (("staff accounts", "/staff/accounts/"),
                       ("staff bank transfers", "/staff/bank-transfers/"),
                       ("staff new discount", "/staff/discounts/new"),
                       ("staff new product", "/staff/products/new"),
                       ("staff webhook log", "/staff/webhooks/")):
        response = staff.goto(base + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        ruler.check(staff, what)

    # Detail pages, reached as staff reach them: from their lists.
    for what, listing, link in (
            ("staff discount", "/staff/discounts/", "a[href^='/staff/discounts/']"),
            ("staff product", "/staff/products/", "a[href^='/staff/products/']"),
            ("staff webhook event", "/staff/webhooks/", "a[href^='/staff/webhooks/']")):
        staff.goto(base + listing)
        hrefs = staff.locator(link).evaluate_all("els => els.map(e => e.getAttribute('href'))")
        detail = [h for h in hrefs if h.rstrip("/").split("/")[-1].split("?")[0] not in (
            "", "discounts", "products", "new", "webhooks")]
        assert detail, (listing, hrefs)
        response = staff.goto(base + detail[0])
        assert response is not None and response.status == 200, (detail[0], response.status)
        ruler.check(staff, what)
        if what == "staff product":
            staff.goto(base + detail[0].split("?")[0].rstrip("/") + "/stock")
            expect(staff.locator("h1")).to_be_visible()
            ruler.check(staff, "staff product stock")

    assert len(ruler.measured) == 9, ruler.measured
    assert ruler.too_wide == [], "\n".join(ruler.too_wide)
