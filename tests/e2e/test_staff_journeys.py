"""Staff running the shop in a real browser, each journey seen from both sides (issue 8's "done
when", issue 10's staff journeys): staff in their own browser context ship, refund and record a
bank transfer; the shopper, in theirs, opens their own order page and reads what happened.

Also issue 10's finding 4 for the back office: a staff form that fails focuses its error
summary, whose links reach the fields (every staff form's summary: tests/staff/
test_staff_error_summary.py).
"""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Order, Refund
from tests.e2e.support import (
    TIMEOUT_MS,
    assert_accessible,
    buy,
    eventually,
    mails_to,
    sign_in,
    summary_state,
    wait_for_focus_on_summary,
)
from tests.served_support import ServedShop

TRACKING = "1Z999AA10123456784"


@pytest.fixture
def staff(browser: Browser, shop: ServedShop) -> Iterator[Page]:
    """A browser context of its own for the staff member, signed in."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, shop)
    yield page
    context.close()




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
            .order_by(Refund.id)
        ))
        db.session.expunge_all()
        db.session.remove()
        return rows




def _order_page_url(shopper: Page, shop: ServedShop, number: str) -> str:
    """The link to the order the shopper's browser was given after checking out."""
    href = shopper.locator(f"a[href*='/orders/{number}']").first.get_attribute("href") or ""
    return href if href.startswith("http") else shop.base + href


def _timeline(shopper: Page) -> list[str]:
    return [text.strip() for text in shopper.locator(".timeline li span").all_inner_texts()]


def _refund_with(staff: Page, shop: ServedShop, number: str, amount: str | None) -> None:
    """Refund `amount` (or what is left, as prefilled) from the staff refund page."""
    staff.goto(f"{shop.base}/staff/orders/{number}")
    staff.get_by_role("link", name="Refund…").click()
    if amount is not None:
        staff.get_by_label("Amount", exact=True).fill(amount)
    staff.get_by_label("Reason").select_option(index=1)
    staff.get_by_role("button", name="Refund", exact=True).dblclick()
    expect(staff.locator(".flash-success").first).to_be_visible()


def test_staff_sign_in_and_land_on_the_back_office(page: Page, shop: ServedShop):
    page.goto(f"{shop.base}/staff/")
    expect(page).to_have_url(f"{shop.base}/account/login?next=%2Fstaff%2F")
    sign_in(page, shop)
    expect(page).to_have_url(f"{shop.base}/staff/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_staff_find_and_ship_an_order_and_the_shopper_sees_its_tracking(
        page: Page, staff: Page, shop: ServedShop, shots):
    shopper = page
    number = buy(shopper, shop, email="ada@example.com")
    order_url = _order_page_url(shopper, shop, number)
    shots(shopper, "shopper paid")

    # Found by the shopper's e-mail, then by the order number.
    staff.get_by_role("link", name="Orders", exact=True).click()
    staff.get_by_label("Search").fill("ada@example.com")
    staff.get_by_role("button", name="Show orders").click()
    rows = staff.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.get_by_role("link", name=number)).to_be_visible()
    staff.get_by_label("Search").fill(number)
    staff.get_by_role("button", name="Show orders").click()
    expect(rows).to_have_count(1)
    assert_accessible(staff, "staff orders list")
    shots(staff, "staff found the order")
    rows.get_by_role("link", name=number).click()
    staff.get_by_role("button", name="Start fulfilment").click()
    expect(staff.locator(".order-head .status")).to_have_text("Preparing for shipment")
    assert_accessible(staff, "staff order page")

    # Shipping without the tracking number fails: focus lands on the summary, whose link
    # leads to the field.
    staff.get_by_label("Carrier").fill("UPS")
    staff.get_by_role("button", name="Ship", exact=True).click()
    expect(staff.locator(".error-summary")).to_be_visible()
    wait_for_focus_on_summary(staff)
    state = summary_state(staff)
    assert state["focused"], f"focus is on {state['active']}"
    assert state["links"] == ["#tracking_number"] and state["missing"] == [], state
    assert_accessible(staff, "staff order page with a failed shipment")
    shots(staff, "staff ship refused without a tracking number")
    staff.locator(".error-summary a").click()
    assert staff.evaluate("document.activeElement.id") == "tracking_number"

    staff.get_by_label("Tracking number").fill(TRACKING)
    staff.get_by_role("button", name="Ship", exact=True).click()
    expect(staff.locator(".order-head .status")).to_have_text("Shipped")
    expect(staff.locator(".error-summary")).to_have_count(0)
    shots(staff, "staff shipped")

    # The shopper's own browser: shipped, the number, the carrier's link, plain words.
    shopper.goto(order_url)
    expect(shopper.locator(".order-head .status")).to_have_text("Shipped")
    expect(shopper.locator(".tracking")).to_contain_text(f"tracking number {TRACKING}")
    track = shopper.get_by_role("link", name="Track your parcel")
    expect(track).to_have_attribute("href", re.compile(rf"ups\.com.*{TRACKING}"))
    timeline = _timeline(shopper)
    assert timeline[0] == f"Shipped with UPS, tracking number {TRACKING}.", timeline
    assert "We are packing your order." in timeline and "Payment confirmed." in timeline
    assert not [t for t in timeline if "Stock" in t or "Stripe" in t], timeline
    shots(shopper, "shopper sees the tracking")
    shipped_mail = eventually(lambda: mails_to(shop, "ada@example.com", "shipped"),
                               "the shipped e-mail")
    assert len(shipped_mail) == 1


def test_staff_refund_part_then_the_rest_and_the_shopper_sees_each(
        page: Page, staff: Page, shop: ServedShop, shots):
    shopper = page
    number = buy(shopper, shop, email="bob@example.com")
    order_url = _order_page_url(shopper, shop, number)
    total = _order(shop, number).total
    part = 500

    # More than was paid is refused beside the amount; the focus goes to the summary.
    staff.goto(f"{shop.base}/staff/orders/{number}/refund")
    staff.get_by_label("Amount", exact=True).fill(f"{(total + 1) / 100:.2f}")
    staff.get_by_label("Reason").select_option(index=1)
    staff.get_by_role("button", name="Refund", exact=True).click()
    expect(staff.locator(".error-summary")).to_contain_text("left to refund")
    wait_for_focus_on_summary(staff)
    state = summary_state(staff)
    assert state["focused"] and state["links"] == ["#amount"], state
    assert_accessible(staff, "staff refund page with a refused amount")
    shots(staff, "staff refund above the total refused")
    assert _refunds(shop, number) == []

    _refund_with(staff, shop, number, f"{part / 100:.2f}")
    shots(staff, "staff refunded part")
    eventually(lambda: [r for r in _refunds(shop, number) if r.status == "succeeded"],
                "Stripe confirming the partial refund")
    shopper.goto(order_url)
    expect(shopper.locator(".order-head .status-refund")).to_have_text("Partially refunded")
    expect(shopper.locator(".refund-list li")).to_have_count(1)
    expect(shopper.locator(".refund-list li").first).to_contain_text("$5.00 · refunded")
    assert "Refunded $5.00." in _timeline(shopper)
    shots(shopper, "shopper sees the partial refund")

    # The rest, prefilled; a double click on the button refunds once.
    _refund_with(staff, shop, number, None)
    rest = eventually(
        lambda: [r for r in _refunds(shop, number) if r.status == "succeeded"][1:],
        "Stripe confirming the second refund")
    assert [(r.amount, r.status) for r in _refunds(shop, number)] == [
        (part, "succeeded"), (total - part, "succeeded")]
    assert len(rest) == 1
    staff.goto(f"{shop.base}/staff/orders/{number}")
    expect(staff.locator(".order-head")).to_contain_text("Refunded")
    shots(staff, "staff order refunded")

    shopper.reload()
    expect(shopper.locator(".order-head .status-refund")).to_have_text("Refunded")
    rest_words = f"${(total - part) / 100:.2f} · refunded"
    expect(shopper.locator(".refund-list li").filter(has_text=rest_words)).to_have_count(1)
    expect(shopper.get_by_text("Ask for a refund")).to_have_count(0)
    assert_accessible(shopper, "shopper's refunded order page")
    shots(shopper, "shopper sees the full refund")


def test_a_bank_transfer_recorded_by_staff_shows_paid_to_the_shopper(
        page: Page, staff: Page, shop: ServedShop, shots):
    shopper = page
    number = buy(shopper, shop, email="cy@example.com", bank_transfer=True)
    shots(shopper, "shopper has the bank details")
    reference = shopper.locator(".payment-reference").inner_text()
    shopper.get_by_role("link", name="View the order").click()
    order_url = shopper.url
    expect(shopper.locator(".order-head .status")).to_have_text("Awaiting payment")
    shots(shopper, "shopper order awaiting the transfer")

    staff.get_by_role("link", name="Bank transfers").click()
    row = staff.locator(f"#order-{number}")
    expect(row).to_contain_text(reference)
    amount = f"{_order(shop, number).total / 100:.2f}"
    row.get_by_label("Amount received").fill(amount)
    row.get_by_label("Bank reference").fill("BANK-REF-0042")
    row.get_by_role("button", name="Record transfer").click()
    expect(staff.get_by_text(f"order {number} is paid")).to_be_visible()
    expect(staff.locator(f"#order-{number}")).to_have_count(0)
    shots(staff, "staff recorded the transfer")
    assert _order(shop, number).status == "payment_confirmed"

    shopper.goto(order_url)
    expect(shopper.locator(".order-head .status")).to_have_text("Payment confirmed")
    assert "Payment confirmed." in _timeline(shopper)
    expect(shopper.get_by_text("This order is waiting for payment")).to_have_count(0)
    shots(shopper, "shopper sees the order paid")
    confirmed = eventually(lambda: mails_to(shop, "cy@example.com", "confirm"),
                            "the confirmation e-mail")
    assert len(confirmed) == 1
