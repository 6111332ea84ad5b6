"""Staff running the shop in a real browser: issue 8's "done when", end to end."""

import re
import time
from email import message_from_bytes

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Order, Refund
from tests.e2e.support import buy, sign_in
from tests.served_support import ServedShop


def test_staff_sign_in_and_land_on_the_back_office(page: Page, shop: ServedShop):
    page.goto(f"{shop.base}/staff/")
    expect(page).to_have_url(f"{shop.base}/account/login?next=%2Fstaff%2F")
    sign_in(page, shop)
    expect(page).to_have_url(f"{shop.base}/staff/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def _eventually(check, what: str, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"never happened: {what}")


def _order(shop: ServedShop, number: str) -> Order:
    with shop.app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        db.session.expunge_all()
        db.session.remove()
        return order


def _refunds(shop: ServedShop, number: str) -> list[Refund]:
    with shop.app.app_context():
        rows = list(db.session.scalars(
            select(Refund).join(Order, Order.id == Refund.order_id).where(Order.number == number)
        ))
        db.session.expunge_all()
        db.session.remove()
        return rows


def _mails_to(shop: ServedShop, address: str, subject_has: str) -> list:
    messages = [message_from_bytes(p.read_bytes()) for p in shop.mail_dir.glob("*.eml")]
    return [m for m in messages if m["To"] == address and subject_has in m["Subject"]]


def test_find_ship_refund_once_and_confirm_a_bank_transfer(browser: Browser, shop: ServedShop):
    shopper = browser.new_page()
    shipped = buy(shopper, shop, email="ada@example.com")
    tracking_link = shopper.get_by_role("link", name=re.compile("order", re.I)).filter(
        has_text=shipped).first.get_attribute("href") or ""
    refunded = buy(browser.new_page(), shop, email="bob@example.com")
    transfer = buy(browser.new_page(), shop, email="cy@example.com", bank_transfer=True)

    staff = browser.new_page()
    staff.set_default_timeout(15_000)
    sign_in(staff, shop)

    # Find the order by the shopper's e-mail and ship it.
    staff.get_by_role("link", name="Orders", exact=True).click()
    staff.get_by_label("Search").fill("ada@example.com")
    staff.get_by_role("button", name="Show orders").click()
    rows = staff.locator("table tbody tr")
    expect(rows).to_have_count(1)
    rows.get_by_role("link", name=shipped).click()
    staff.get_by_role("button", name="Start fulfilment").click()
    staff.get_by_label("Carrier").fill("UPS")
    staff.get_by_label("Tracking number").fill("1Z999AA10123456784")
    staff.get_by_role("button", name="Ship", exact=True).click()
    expect(staff.locator(".order-head .status")).to_have_text("Shipped")

    # The shopper sees carrier, number and a link to the carrier's page, and gets one e-mail.
    shopper.goto(tracking_link if tracking_link.startswith("http") else shop.base + tracking_link)
    expect(shopper.get_by_text("1Z999AA10123456784").first).to_be_visible()
    track = shopper.locator("a[href*='ups.com']").first
    expect(track).to_have_attribute("href", re.compile(r"1Z999AA10123456784"))
    shipped_mail = _eventually(lambda: _mails_to(shop, "ada@example.com", "shipped"),
                               "the shipped e-mail")
    assert len(shipped_mail) == 1

    # Refund another order in full; a double click on the button refunds once.
    staff.goto(f"{shop.base}/staff/orders/{refunded}")
    staff.get_by_role("link", name="Refund…").click()
    staff.get_by_label("Reason").select_option(index=1)
    staff.get_by_role("button", name="Refund", exact=True).dblclick()
    staff.wait_for_load_state()
    total = _order(shop, refunded).total
    rows = _eventually(lambda: [r for r in _refunds(shop, refunded) if r.status == "succeeded"],
                       "Stripe confirming the refund")
    assert [(r.amount, r.status) for r in _refunds(shop, refunded)] == [(total, "succeeded")]
    staff.goto(f"{shop.base}/staff/orders/{refunded}")
    expect(staff.locator(".order-head")).to_contain_text("Refunded")

    # Confirm the bank transfer with the exact amount: the order is paid.
    staff.get_by_role("link", name="Bank transfers").click()
    row = staff.locator(f"#order-{transfer}")
    amount = f"{_order(shop, transfer).total / 100:.2f}"
    row.get_by_label("Amount received").fill(amount)
    row.get_by_label("Bank reference").fill("BANK-REF-0042")
    row.get_by_role("button", name="Record transfer").click()
    expect(staff.get_by_text(f"order {transfer} is paid")).to_be_visible()
    assert _order(shop, transfer).status == "payment_confirmed"
    assert len(rows) == 1
