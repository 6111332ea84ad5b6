"""Audit of issue 10, finding 2: "No shopper or staff page may scroll horizontally at 375 px".

test_phone_layout measures seven staff pages; these are the staff pages it does not open
(accounts, bank transfers, a discount and the new-discount form, a product, its stock and the
new-product form, the webhook log and one event), measured the same way.
"""

from decimal import Decimal

from playwright.sync_api import Browser, expect

from checkout.services import discounts
from tests.e2e.support import buy, sign_in
from tests.e2e.test_phone_layout import PHONE, Ruler, _phone
from tests.served_support import ServedShop


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
