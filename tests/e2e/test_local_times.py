"""Issue 10, finding 7 in a real browser: the shopper's timeline reads in their own time zone.

The server writes STORE_TIMEZONE's time; static/js/local-times.js rewrites each <time> into
the browser's zone. Here the browser is in Tokyo while the store is on UTC.
"""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.support import TIMEOUT_MS, buy
from tests.served_support import ServedShop


@pytest.fixture
def tokyo(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(timezone_id="Asia/Tokyo", locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def test_the_order_timeline_is_shown_in_the_browser_s_time_zone(tokyo: Page, shop: ServedShop):
    number = buy(tokyo, shop, email="tokyo@example.com")
    link = tokyo.locator(f"a[href*='/orders/{number}']").first.get_attribute("href")
    tokyo.goto(link if link.startswith("http") else shop.base + link)
    first = tokyo.locator(".timeline time").first
    shown, utc = first.inner_text(), first.get_attribute("datetime")
    assert "UTC" not in shown
    assert re.search(r"GMT\+9|JST", shown), shown
    # The same moment: the UTC hour plus nine, modulo a day.
    hour = (int(utc[11:13]) + 9) % 24
    assert f"{hour:02d}:{utc[14:16]}" in shown, (shown, utc)
