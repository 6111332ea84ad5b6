"""A whole purchase against gunicorn, logging at DEBUG: no bearer secret or card in any line.

The run writes gunicorn's access log (text, then JSON) and its stderr (gunicorn's messages
and the app's log lines) to files, then greps them for the guest order token, the success
page's session id, the password typed at sign-in, the webhook secret, the Stripe key and
the card number typed on the sandbox's payment page.
"""

import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from checkout.config import SANDBOX_SECRET_KEY, SANDBOX_WEBHOOK_SECRET
from checkout.extensions import db
from checkout.models import WebhookEvent
from tests.served_support import ADMIN_EMAIL, ADMIN_PASSWORD, serve_shop

CARD = "4242 4242 4242 4242"


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"(?: type="hidden")? value="([^"]+)"', page)
    assert match, f"no {name} on the page"
    return match.group(1)


def buy_and_sign_in(base: str) -> dict[str, str]:
    """Buy a mug as a guest, open the order link, sign in; return the secrets that crossed."""
    with requests.Session() as browser:
        product = browser.get(f"{base}/products/ceramic-mug", timeout=10).text
        added = browser.post(f"{base}/cart/add", timeout=10, allow_redirects=False, data={
            "csrf_token": hidden(product, "csrf_token"),
            "product_id": hidden(product, "product_id"), "quantity": "1",
        })
        assert added.status_code == 303
        form = browser.get(f"{base}/checkout/", timeout=10).text
        placed = browser.post(f"{base}/checkout/", timeout=20, allow_redirects=False, data={
            "csrf_token": hidden(form, "csrf_token"),
            "checkout_token": hidden(form, "checkout_token"),
            "email": "ada@example.com", "name": "Ada Lovelace", "line1": "1 Main St",
            "city": "Springfield", "postal_code": "12345", "country": "US",
            "shipping_method": "standard",
        })
        assert placed.status_code == 303, placed.text
        pay_url = placed.headers["Location"]
        browser.get(pay_url, timeout=10)
        paid = browser.post(pay_url, timeout=20, allow_redirects=False, data={
            "email": "ada@example.com", "number": CARD, "exp": "12 / 40", "cvc": "123",
            "name": "Ada Lovelace", "method": "card",
        })
        assert paid.status_code == 303
        success_url = paid.headers["Location"]
        session_id = parse_qs(urlsplit(success_url).query)["session_id"][0]
        thanks = browser.get(success_url, timeout=20)
        assert thanks.status_code == 200
        order_path = re.search(r'href="(/orders/[^"?]+\?t=[^"]+)"', thanks.text).group(1)
        token = parse_qs(urlsplit(order_path.replace("&amp;", "&")).query)["t"][0]
        assert browser.get(base + order_path.replace("&amp;", "&"), timeout=10).status_code == 200
        login = browser.get(f"{base}/account/login", timeout=10).text
        signed_in = browser.post(f"{base}/account/login", timeout=10, allow_redirects=False, data={
            "csrf_token": hidden(login, "csrf_token"),
            "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
        })
        assert signed_in.status_code in (302, 303)
    return {"order token": token, "session id": session_id, "password": ADMIN_PASSWORD,
            "webhook secret": SANDBOX_WEBHOOK_SECRET, "stripe key": SANDBOX_SECRET_KEY,
            "card number": CARD.replace(" ", ""), "card as typed": CARD}


def wait_for_webhook(shop, count: int = 1) -> None:
    """Wait until `count` checkout.session.completed events were handled."""
    deadline = time.monotonic() + 30
    with shop.app.app_context():
        while time.monotonic() < deadline:
            kinds = list(db.session.scalars(select(WebhookEvent.type)))
            db.session.remove()
            if kinds.count("checkout.session.completed") >= count:
                return
            time.sleep(0.3)
    raise AssertionError("the webhook never arrived")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_served_purchase_writes_no_secret_to_any_log(tmp_path, log_format):
    access_log, error_log = tmp_path / "access.log", tmp_path / "error.log"
    settings = {"GUNICORN_ACCESS_LOG": str(access_log), "LOG_LEVEL": "DEBUG",
                "LOG_FORMAT": log_format}
    with serve_shop(tmp_path, settings=settings, log_file=error_log) as shop:
        secrets = buy_and_sign_in(shop.base)
        wait_for_webhook(shop)
    written = access_log.read_text()
    assert "/orders/" in written and "session_id=[redacted]" in written, written
    assert "t=[redacted]" in written
    if log_format == "json":
        lines = [json.loads(line) for line in written.splitlines()]
        assert {"/checkout/", "/account/login"} <= {line["path"] for line in lines}
        # The sandbox is another WSGI app mounted beside the shop: its pages have no id.
        assert all(line["request_id"] for line in lines
                   if not line["path"].startswith("/sandbox/")), lines
        # One payment, followed: the checkout's request id is on the webhook handling's lines.
        [checkout] = [line for line in lines
                      if (line["method"], line["path"]) == ("POST", "/checkout/")]
        app_lines = [json.loads(line) for line in error_log.read_text().splitlines()]
        handled = [line for line in app_lines if line["logger"] == "checkout.services.webhooks"
                   and "checkout.session.completed" in line["message"]]
        assert handled and {line.get("payment_request_id") for line in handled} == {
            checkout["request_id"]}
    logs = written + error_log.read_text()
    for what, secret in secrets.items():
        assert secret not in logs, f"the {what} is in the logs"
