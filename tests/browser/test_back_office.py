"""Staff running the shop in a real browser."""

from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.served_support import ServedShop


def test_staff_sign_in_and_land_on_the_back_office(page: Page, shop: ServedShop):
    page.goto(f"{shop.base}/staff/")
    expect(page).to_have_url(f"{shop.base}/account/login?next=%2Fstaff%2F")
    sign_in(page, shop)
    expect(page).to_have_url(f"{shop.base}/staff/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
