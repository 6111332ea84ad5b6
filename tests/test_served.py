"""The shop served for real: gunicorn, one sync worker, the sandbox in-process, over HTTP.

One worker serves the checkout, the payment page and the webhook the sandbox's background
thread delivers back to it: this proves nothing waits on itself.
"""

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"(?: type="hidden")? value="([^"]+)"', page)
    assert match, f"no {name} on the page"
    return match.group(1)


@pytest.fixture
def served(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "CHECKOUT_ENV": "development",
        "SECRET_KEY": "served-test-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite'}",
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite'}",
        "PORT": str(port),
        "PAYMENTS": "sandbox",
        "FLASK_APP": "wsgi",
        "HUEY_DATABASE": str(tmp_path / "huey.sqlite"),
        "MAIL_DIR": str(tmp_path / "mail"),
    }
    env.pop("STRIPE_SECRET_KEY", None)
    env.pop("STRIPE_WEBHOOK_SECRET", None)
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run([BIN / "flask", *command], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=60)
    server = subprocess.Popen(
        [BIN / "gunicorn", "--workers", "1", "--worker-class", "sync", "--timeout", "20",
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(base + "/", timeout=2).close()
                break
            # Refused before gunicorn binds; a read timeout while its worker still imports the
            # app (seconds on a loaded machine): neither is an answer yet.
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        yield base, tmp_path / "shop.sqlite"
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=20)
        assert b"Traceback" not in errors, errors.decode()


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
