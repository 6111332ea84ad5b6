"""Issue 9, defect 6: security headers on every response, walked over the whole URL map.

The browser half (no page breaks under the policy) is tests/e2e/test_content_policy.py.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from checkout import create_app
from checkout.config import from_environment
from checkout.extensions import db
from checkout.models import Order
from tests.conftest import csrf_token
from tests.shop import place_and_get_session
from tests.staff.conftest import _account
from tests.state import guest_token

ROOT = Path(__file__).resolve().parent.parent
# Pages that say nothing about anyone (the catalog) and files: a browser may keep them.
MAY_BE_CACHED = {"static", "static_files.favicon", "media.product_image", "catalog.index",
                 "catalog.product"}


def get_routes(app: Flask) -> list[tuple[str, str]]:
    """Every (endpoint, path) answering GET, with each URL variable filled in."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        values = {}
        for arg in rule.arguments:
            kind = type(rule._converters[arg]).__name__
            values[arg] = 1 if "Integer" in kind else "css/shop.css" if "Path" in kind else "X"
        with app.test_request_context():
            routes.append((rule.endpoint, urlsplit(app.url_for(rule.endpoint, **values)).path))
    return sorted(routes)


def _url_map_routes() -> list[tuple[str, str]]:
    app = create_app({
        "TESTING": True, "SECRET_KEY": "url-map", "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "PAYMENTS": "sandbox", "SANDBOX_DATABASE_URL": "sqlite://", "SANDBOX_BACKGROUND": False,
        "JOBS_IMMEDIATE": True, "RATELIMIT_ENABLED": False,
    })
    return get_routes(app)


# Read at collection: a new route is walked without anyone adding it here.
ROUTES = _url_map_routes()


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy as directive → sources."""
    header = response.headers.get("Content-Security-Policy")
    assert header, "no Content-Security-Policy"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_security_headers(response) -> None:
    csp = policy(response)
    scripts = csp.get("script-src", csp.get("default-src"))
    assert scripts is not None
    for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
        assert unsafe not in scripts, (unsafe, scripts)
    styles = csp.get("style-src", csp.get("default-src"))
    assert "'unsafe-inline'" not in styles
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert "form-action" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer",
                                                   "strict-origin")
    assert response.headers["X-Frame-Options"] == "DENY"
    permissions = response.headers["Permissions-Policy"]
    assert "camera=()" in permissions and "geolocation=()" in permissions
    # Development and tests speak HTTP: HSTS would be a lie there (production only).
    assert "Strict-Transport-Security" not in response.headers


def assert_caching_right(endpoint: str | None, response) -> None:
    cache = response.headers.get("Cache-Control", "")
    # An error page under a cacheable route is the shop's page like any other: never stored.
    if endpoint in MAY_BE_CACHED and response.status_code < 400:
        assert "no-store" not in cache, (endpoint, cache)
        if endpoint.startswith("catalog."):
            # Signed in, the catalog shows the cart and a CSRF token: never a shared cache.
            assert "private" in cache, cache
    else:
        assert cache == "private, no-store", (endpoint, response.status_code, cache)


def test_the_walk_found_the_shop():
    endpoints = {endpoint for endpoint, _ in ROUTES}
    assert {"catalog.index", "cart.show", "checkout.start", "checkout.success", "orders.show",
            "account.login", "staff.dashboard.index", "static"} <= endpoints
    assert len(ROUTES) > 40, ROUTES


@pytest.mark.parametrize(("endpoint", "path"), ROUTES, ids=[e for e, _ in ROUTES])
def test_every_get_route_carries_the_security_headers_signed_out(client, endpoint, path):
    response = client.get(path)
    response.close()  # a static file is streamed from disk
    assert_security_headers(response)
    assert_caching_right(endpoint, response)


def test_every_get_route_carries_them_for_an_admin_too(app, products):
    admin = _account(app, "admin@example.com", "admin")
    seen = set()
    for endpoint, path in ROUTES:
        response = admin.get(path)
        response.close()
        seen.add(response.status_code)
        assert_security_headers(response)
        assert_caching_right(endpoint, response)
    assert 200 in seen


def test_pages_with_personal_data_are_never_stored(app, client, products):
    admin = _account(app, "admin@example.com", "admin")
    for path in ("/cart/", "/checkout/", "/account/", "/account/settings", "/staff/",
                 "/staff/orders/", "/checkout/success"):
        response = admin.get(path)
        assert response.headers["Cache-Control"] == "private, no-store", path


def test_error_pages_and_posts_carry_them(client):
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert_security_headers(missing)
    assert missing.headers["Cache-Control"] == "private, no-store"
    posted = client.post("/account/login", data={"csrf_token": csrf_token(client),
                                                 "email": "a@example.com", "password": "x"})
    assert_security_headers(posted)
    assert posted.headers["Cache-Control"] == "private, no-store"


@pytest.fixture
def paid_order(app, client, sandbox, products) -> str:
    """A mug paid by card in the sandbox and confirmed by the webhook: it has an invoice."""
    assert sandbox.pay(place_and_get_session(client, products["MUG"], 1)).ok
    assert all(d.ok for d in sandbox.deliver_pending())
    with app.app_context():
        number = db.session.scalar(select(Order.number))
        db.session.remove()
    return number


def test_the_printable_invoice_styles_itself_with_this_responses_nonce(app, client, paid_order):
    token = guest_token(app, paid_order)
    response = client.get(f"/orders/{paid_order}/invoice?t={token}")
    assert response.status_code == 200
    styles = policy(response)["style-src"]
    [nonce] = re.findall(r'<style nonce="([^"]+)">', response.get_data(as_text=True))
    assert f"'nonce-{nonce}'" in styles
    again = client.get(f"/orders/{paid_order}/invoice?t={token}")
    assert f"'nonce-{nonce}'" not in policy(again)["style-src"]  # a new one each time


def test_hsts_is_sent_in_production_only(app):
    production = create_app({**{k: app.config[k] for k in (
        "TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "SANDBOX_DATABASE_URL",
        "PAYMENTS", "SANDBOX_BACKGROUND", "RATELIMIT_ENABLED")}, "HSTS": True})
    response = production.test_client().get("/account/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


def test_with_real_stripe_forms_may_lead_to_stripe_checkout(app):
    stripe_app = create_app({**{k: app.config[k] for k in (
        "TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "RATELIMIT_ENABLED")},
        "PAYMENTS": "stripe", "STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"})
    response = stripe_app.test_client().get("/account/login")
    # Placing an order redirects the form's POST to Stripe's page: form-action must allow it.
    assert policy(response)["form-action"] == ["'self'", "https://checkout.stripe.com"]


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler (on…=)"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"\sstyle\s*=", re.I), "a style= attribute"),
    (re.compile(r"<style(?![^>]*\bnonce=)[^>]*>", re.I), "a <style> without the nonce"),
]


@pytest.mark.parametrize("template", sorted(
    str(p.relative_to(ROOT / "templates")) for p in (ROOT / "templates").rglob("*.html")
    # E-mails are read in a mail program, never served under the shop's policy.
    if "mail" not in p.relative_to(ROOT / "templates").parts
))
def test_no_served_template_holds_what_the_policy_would_block(template):
    source = (ROOT / "templates" / template).read_text()
    for pattern, what in INLINE:
        assert not pattern.search(source), f"{template} has {what}"


def test_production_settings_switch_hsts_on(monkeypatch, tmp_path):
    for name, value in {"CHECKOUT_ENV": "production", "SECRET_KEY": "k" * 48,
                        "PAYMENTS": "stripe", "STRIPE_SECRET_KEY": "sk_live_x",
                        "STRIPE_WEBHOOK_SECRET": "whsec_x"}.items():
        monkeypatch.setenv(name, value)
    assert from_environment(tmp_path)["HSTS"] is True
    monkeypatch.setenv("CHECKOUT_ENV", "development")
    monkeypatch.setenv("PAYMENTS", "sandbox")
    monkeypatch.delenv("STRIPE_SECRET_KEY")
    assert from_environment(tmp_path)["HSTS"] is False
