"""The shop against a sandbox in another process (`python -m stripe_sandbox serve`).

The sandbox runs as a real subprocess reached through STRIPE_API_BASE; the shop is served over
a real socket in this process so the sandbox can deliver its webhooks back to it.
"""

import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask_migrate import upgrade
from sqlalchemy import select
from werkzeug.serving import make_server

from checkout import create_app
from checkout.extensions import db
from checkout.models import Order, WebhookEvent
from tests.factories import ProductFactory

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk_test_other_process"
SECRET = "whsec_other_process"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            requests.get(url, timeout=1).close()
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"(?: type="hidden")? value="([^"]+)"', page)
    assert match, f"no {name} on the page"
    return match.group(1)


@pytest.fixture
def sandbox_process(tmp_path) -> Iterator[tuple[str, int, subprocess.Popen]]:
    """Start `python -m stripe_sandbox serve`; yield (its URL, the shop's port, the process)."""
    port, shop_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "stripe_sandbox", "serve", "--port", str(port),
         "--webhook-url", f"http://127.0.0.1:{shop_port}/webhooks/stripe",
         "--api-key", KEY, "--webhook-secret", SECRET,
         "--database-url", f"sqlite:///{tmp_path / 'other-sandbox.sqlite'}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/v1/events")
        yield url, shop_port, process
    finally:
        process.terminate()
        output, errors = process.communicate(timeout=10)
        # Start-up says how to reach it; nothing crashed while serving.
        assert f"api key         {KEY}" in output and "webhook secret  " + SECRET in output
        assert "Traceback" not in errors, errors


@pytest.fixture
def shop_served(tmp_path, sandbox_process) -> Iterator[tuple[str, object]]:
    """Serve a shop whose STRIPE_API_BASE is the sandbox process; yield (its URL, its app)."""
    sandbox_url, shop_port, _ = sandbox_process
    base = f"http://127.0.0.1:{shop_port}"
    app = create_app({
        "TESTING": True, "SECRET_KEY": "other-process",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.sqlite'}",
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'mounted-sandbox.sqlite'}",
        "SANDBOX_BACKGROUND": False, "JOBS_IMMEDIATE": True,
        "PAYMENTS": "sandbox", "STRIPE_API_BASE": sandbox_url,
        "STRIPE_SECRET_KEY": KEY, "STRIPE_WEBHOOK_SECRET": SECRET,
        "PUBLIC_BASE_URL": base, "STORE_CURRENCY": "USD",
    })
    with app.app_context():
        upgrade()
        ProductFactory(sku="MUG", price=2400, on_hand=5, title="Stoneware Mug")
        db.session.remove()
    server = make_server("127.0.0.1", shop_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, app
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()
        app.extensions["sandbox"].close()


def test_the_shop_takes_a_payment_through_a_sandbox_in_another_process(
        sandbox_process, shop_served):
    sandbox_url, _, process = sandbox_process
    base, app = shop_served
    with requests.Session() as browser:
        product = browser.get(f"{base}/products/mug", timeout=10).text
        added = browser.post(f"{base}/cart/add", timeout=10, allow_redirects=False, data={
            "csrf_token": hidden(product, "csrf_token"),
            "product_id": hidden(product, "product_id"), "quantity": "2"})
        assert added.status_code == 303
        form = browser.get(f"{base}/checkout/", timeout=10).text
        placed = browser.post(f"{base}/checkout/", timeout=20, allow_redirects=False, data={
            "csrf_token": hidden(form, "csrf_token"),
            "checkout_token": hidden(form, "checkout_token"),
            "email": "ada@example.com", "name": "Ada Lovelace", "line1": "1 Main St",
            "city": "Springfield", "postal_code": "12345", "country": "US"})
        assert placed.status_code == 303, placed.text
        pay_url = placed.headers["Location"]
        # The session lives in the other process: its hosted page, not the mounted one.
        assert pay_url.startswith(f"{sandbox_url}/pay/cs_test_")
        assert "Pay $48.00" in browser.get(pay_url, timeout=10).text
        paid = browser.post(pay_url, timeout=20, allow_redirects=False, data={
            "email": "ada@example.com", "number": "4242 4242 4242 4242", "exp": "12 / 40",
            "cvc": "123", "name": "Ada Lovelace", "method": "card"})
        assert paid.status_code == 303
        assert paid.headers["Location"].startswith(f"{base}/checkout/success")
        thanks = browser.get(paid.headers["Location"], timeout=20)
        assert "your order is confirmed" in thanks.text

    # The sandbox process's own worker signs and delivers the events to the shop's webhook.
    deadline = time.monotonic() + 10
    handled: list[str] = []
    while time.monotonic() < deadline and "checkout.session.completed" not in handled:
        time.sleep(0.2)
        with app.app_context():
            handled = list(db.session.scalars(select(WebhookEvent.type)))
            db.session.remove()
    assert "checkout.session.completed" in handled
    with app.app_context():
        order = db.session.scalar(select(Order))
        assert order.status == "payment_confirmed"
        db.session.remove()
    # Nothing reached the sandbox mounted in the shop's own process.
    assert app.extensions["sandbox"].events() == []
    assert process.poll() is None
