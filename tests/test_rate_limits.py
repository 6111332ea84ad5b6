"""Issue 9, defect 4: sign-in, sign-up, password reset, checkout and discount codes are rate
limited per client address (sign-in per e-mail address too), with a page that says when to
try again and a Retry-After header.

The suite's app has limits off; each test here builds an app with them on, over the same
database, with small limits so that a test needs only a few requests.
"""

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from checkout import create_app
from checkout.config import ConfigError, from_environment
from tests.accounts_support import PASSWORD, make_shopper
from tests.conftest import csrf_token

LIMITS = {
    "RATE_LIMIT_SIGN_IN": "5 per minute",
    "RATE_LIMIT_SIGN_IN_EMAIL": "8 per 15 minutes",
    "RATE_LIMIT_REGISTER": "3 per minute",
    "RATE_LIMIT_PASSWORD_RESET": "3 per minute",
    "RATE_LIMIT_CHECKOUT": "4 per minute",
    "RATE_LIMIT_DISCOUNT": "4 per minute",
}
# Copied from the suite's app so the limited app works on the same database and mail folder.
SHARED_SETTINGS = (
    "TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "PAYMENTS", "SANDBOX_BACKGROUND",
    "JOBS_IMMEDIATE", "MAIL_DIR", "UPLOAD_FOLDER", "SMTP_HOST", "PUBLIC_BASE_URL",
    "SANDBOX_WEBHOOK_URL", "STORE_CURRENCY", "CHECKOUT_HOLD_MINUTES", "LATE_PAYMENT_POLICY",
)


def limited_app(app: Flask, tmp_path, **settings) -> Flask:
    """An app like the suite's, with rate limits on (in memory unless settings say otherwise)."""
    config = {name: app.config[name] for name in SHARED_SETTINGS}
    tmp_path.mkdir(parents=True, exist_ok=True)
    return create_app({
        **config,
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite'}",
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        **LIMITS,
        **settings,
    })


@pytest.fixture
def limited(app, tmp_path) -> Flask:
    return limited_app(app, tmp_path)


def from_address(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def sign_in(client: FlaskClient, email: str, password: str):
    return client.post("/account/login", data={
        "csrf_token": csrf_token(client), "email": email, "password": password})


def assert_refused_for_a_while(response) -> int:
    """The 429 page in the shop's layout, saying when to come back; return Retry-After."""
    assert response.status_code == 429, response.status_code
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60 * 60
    page = response.get_data(as_text=True)
    assert "Please wait a moment" in page
    assert "try again in about" in page and "UTC" in page
    assert 'class="site-header"' in page  # the shop's own look, not Werkzeug's bare page
    return retry_after


def test_the_sixth_wrong_password_in_a_minute_is_refused_and_so_is_the_right_one(
        app, limited):
    make_shopper(app, "ada@example.com")
    browser = from_address(limited, "203.0.113.7")
    for _ in range(5):
        assert sign_in(browser, "ada@example.com", "not-the-password").status_code == 422

    assert_refused_for_a_while(sign_in(browser, "ada@example.com", "not-the-password"))
    # While limited, even the right password is not tried: guessing on would be free otherwise.
    assert_refused_for_a_while(sign_in(browser, "ada@example.com", PASSWORD))
    assert not _signed_in(browser)

    # Another address is not held back by this one's failures.
    assert sign_in(from_address(limited, "198.51.100.4"), "ada@example.com",
                   PASSWORD).status_code == 303


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/account/settings").status_code == 200


def test_signing_in_successfully_never_uses_up_the_limit(app, limited):
    make_shopper(app, "ada@example.com")
    browser = from_address(limited, "203.0.113.8")
    for _ in range(8):
        assert sign_in(browser, "ada@example.com", PASSWORD).status_code == 303


def test_wrong_passwords_for_one_address_from_many_places_are_slowed(app, limited):
    make_shopper(app, "ada@example.com")
    for n in range(8):
        # Each from its own address: the per-address limit (5) never trips.
        assert sign_in(from_address(limited, f"192.0.2.{n + 1}"), "ADA@example.com ",
                       "guess-number-" + str(n)).status_code == 422

    assert_refused_for_a_while(
        sign_in(from_address(limited, "192.0.2.200"), "ada@example.com", PASSWORD))
    # Another account is not locked by the attack on this one.
    make_shopper(app, "grace@example.com")
    assert sign_in(from_address(limited, "192.0.2.201"), "grace@example.com",
                   PASSWORD).status_code == 303


def test_registration_attempts_are_limited(limited):
    browser = from_address(limited, "203.0.113.9")
    for _ in range(3):
        response = browser.post("/account/register", data={
            "csrf_token": csrf_token(browser, "/account/register"), "email": "not-an-email",
            "password": "short", "confirm": "short"})
        assert response.status_code == 422
    assert_refused_for_a_while(browser.post("/account/register", data={
        "csrf_token": csrf_token(browser, "/account/register"), "email": "new@example.com",
        "password": PASSWORD, "confirm": PASSWORD}))
    # Looking at the form is not an attempt.
    assert browser.get("/account/register").status_code == 200


def test_password_reset_requests_are_limited(limited):
    browser = from_address(limited, "203.0.113.10")
    for n in range(3):
        response = browser.post("/account/forgot", data={
            "csrf_token": csrf_token(browser, "/account/forgot"),
            "email": f"someone{n}@example.com"})
        assert response.status_code == 200
    assert_refused_for_a_while(browser.post("/account/forgot", data={
        "csrf_token": csrf_token(browser, "/account/forgot"), "email": "x@example.com"}))


def test_placing_orders_is_limited(limited):
    browser = from_address(limited, "203.0.113.11")
    token = csrf_token(browser, "/account/login")
    for _ in range(4):
        assert browser.post("/checkout/", data={"csrf_token": token}).status_code != 429
    assert_refused_for_a_while(browser.post("/checkout/", data={"csrf_token": token}))
    assert browser.post("/checkout/", data={"csrf_token": token},
                        environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code != 429


def test_discount_code_attempts_are_limited(limited, products):
    browser = from_address(limited, "203.0.113.12")
    token = csrf_token(browser, "/account/login")
    browser.post("/cart/add", data={"csrf_token": token, "product_id": products["MUG"],
                                    "quantity": 1})
    for n in range(4):
        response = browser.post("/cart/discount", data={"csrf_token": token,
                                                        "code": f"GUESS{n}"})
        assert response.status_code == 422, response.status_code
    assert_refused_for_a_while(
        browser.post("/cart/discount", data={"csrf_token": token, "code": "GUESS9"}))


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_escape_the_limit(
        app, limited):
    make_shopper(app, "ada@example.com")
    browser = from_address(limited, "203.0.113.13")
    for n in range(5):
        browser.environ_base["HTTP_X_FORWARDED_FOR"] = f"10.0.0.{n}"
        assert sign_in(browser, "ada@example.com", "wrong-password!").status_code == 422
    browser.environ_base["HTTP_X_FORWARDED_FOR"] = "10.0.0.99"
    assert_refused_for_a_while(sign_in(browser, "ada@example.com", "wrong-password!"))


def test_behind_one_trusted_proxy_each_client_address_counts_on_its_own(app, tmp_path):
    make_shopper(app, "ada@example.com")
    proxied = limited_app(app, tmp_path, TRUSTED_PROXY_COUNT=1)
    proxy = from_address(proxied, "10.1.1.1")  # every request arrives from the proxy
    for _ in range(5):
        proxy.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.50"
        assert sign_in(proxy, "ada@example.com", "wrong-password!").status_code == 422
    assert_refused_for_a_while(sign_in(proxy, "ada@example.com", "wrong-password!"))
    proxy.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.51"
    assert sign_in(proxy, "ada@example.com", PASSWORD).status_code == 303


@pytest.mark.parametrize("value", ["ten per minute", "5 per fortnight", "per minute"])
def test_a_malformed_limit_setting_is_refused_at_start(monkeypatch, tmp_path, value):
    monkeypatch.setenv("RATE_LIMIT_SIGN_IN", value)
    with pytest.raises(ConfigError, match="RATE_LIMIT_SIGN_IN"):
        from_environment(tmp_path)


def test_limits_are_on_by_default_and_counted_in_redis_when_redis_url_is_set(
        monkeypatch, tmp_path):
    monkeypatch.delenv("RATELIMIT_ENABLED", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    config = from_environment(tmp_path)
    assert config["RATELIMIT_ENABLED"] is True
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/2")
    assert from_environment(tmp_path)["RATELIMIT_STORAGE_URI"] == "redis://cache.internal:6379/2"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path) -> Iterator[str]:
    binary = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
    if not binary and os.environ.get("CI") == "true":
        pytest.fail("CI needs redis-server for the Redis-backed rate-limit test (.ci/run "
                    "installs it)")
    if not binary:
        pytest.skip("no redis-server on this machine: apt-get install redis-server "
                    "(or set REDIS_SERVER) to run the Redis-backed rate-limit test")
    port = _free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_two_workers_sharing_redis_share_one_count(app, tmp_path, redis_url):
    make_shopper(app, "ada@example.com")
    first = limited_app(app, tmp_path / "a", RATELIMIT_STORAGE_URI=redis_url)
    second = limited_app(app, tmp_path / "b", RATELIMIT_STORAGE_URI=redis_url)
    for worker in (first, first, first, second, second):
        browser = from_address(worker, "203.0.113.60")
        assert sign_in(browser, "ada@example.com", "wrong-password!").status_code == 422
    # Neither worker saw five failures itself: only a shared count refuses this one.
    assert_refused_for_a_while(
        sign_in(from_address(second, "203.0.113.60"), "ada@example.com", PASSWORD))


def test_the_per_email_count_is_kept_under_a_digest_not_the_address(app, limited, caplog):
    make_shopper(app, "ada@example.com")
    for n in range(9):
        sign_in(from_address(limited, f"192.0.2.{n + 1}"), "ada@example.com", "wrong-guess!")
    storage = limited.extensions["rate_limiter"].storage
    keys = " ".join(storage.storage.keys()) + caplog.text
    assert "sign-in-email" in keys  # the per-e-mail limit was counted, and tripped
    assert "ada@example.com" not in keys


@pytest.mark.parametrize("value", ["one", "-1", "6"])
def test_a_wrong_proxy_count_is_refused_at_start(monkeypatch, tmp_path, value):
    monkeypatch.setenv("TRUSTED_PROXY_COUNT", value)
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_COUNT"):
        from_environment(tmp_path)


def test_new_order_link_requests_are_limited(limited):
    """Each request may send a mail: limited like password resets."""
    browser = from_address(limited, "203.0.113.14")
    path = "/orders/FH-000001/new-link"
    for n in range(3):
        response = browser.post(path, data={"csrf_token": csrf_token(browser, path),
                                            "email": f"someone{n}@example.com"})
        assert response.status_code == 200
    assert_refused_for_a_while(browser.post(path, data={
        "csrf_token": csrf_token(browser, path), "email": "x@example.com"}))
