"""The shop served for real: gunicorn, one sync worker, the sandbox in-process, over HTTP.

One worker serves the checkout, the payment page and the webhook the sandbox's background
thread delivers back to it: this proves nothing waits on itself.
"""

import re
import sqlite3
import time
from contextlib import closing

import pytest
import requests

from tests.served_support import serve_shop


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"(?: type="hidden")? value="([^"]+)"', page)
    assert match, f"no {name} on the page"
    return match.group(1)


@pytest.fixture
def served(tmp_path):
    with serve_shop(tmp_path) as shop:
        yield shop.base, shop.database


def test_a_single_sync_worker_takes_a_payment_and_its_webhook_without_deadlock(served):
    base, shop_db = served
    with requests.Session() as browser:
        product = browser.get(f"{base}/products/ceramic-mug", timeout=10).text
        added = browser.post(f"{base}/cart/add", timeout=10, allow_redirects=False, data={
            "csrf_token": _hidden(product, "csrf_token"),
            "product_id": _hidden(product, "product_id"),
            "quantity": "2",
        })
        assert added.status_code == 303
        form = browser.get(f"{base}/checkout/", timeout=10).text
        placed = browser.post(f"{base}/checkout/", timeout=20, allow_redirects=False, data={
            "csrf_token": _hidden(form, "csrf_token"),
            "checkout_token": _hidden(form, "checkout_token"),
            "email": "ada@example.com", "name": "Ada Lovelace", "line1": "1 Main St",
            "city": "Springfield", "postal_code": "12345", "country": "US",
            "shipping_method": "standard",
        })
        assert placed.status_code == 303
        pay_url = placed.headers["Location"]
        assert pay_url.startswith(f"{base}/sandbox/stripe/pay/cs_test_")
        # seed-demo's Standard shipping ($5.95 under $75) and US sales tax (8.875% of $48.00).
        assert "Pay $58.21" in browser.get(pay_url, timeout=10).text
        paid = browser.post(pay_url, timeout=20, allow_redirects=False, data={
            "email": "ada@example.com", "number": "4242 4242 4242 4242", "exp": "12 / 40",
            "cvc": "123", "name": "Ada Lovelace", "method": "card",
        })
        assert paid.status_code == 303
        thanks = browser.get(paid.headers["Location"], timeout=20)
        assert "your order is confirmed" in thanks.text

    # The sandbox's own thread delivers checkout.session.completed back into the one worker.
    deadline = time.monotonic() + 15
    handled = []
    while time.monotonic() < deadline and "checkout.session.completed" not in handled:
        time.sleep(0.3)
        with closing(sqlite3.connect(shop_db)) as conn:
            handled = [row[0] for row in conn.execute("SELECT type FROM webhook_event")]
    assert "checkout.session.completed" in handled
