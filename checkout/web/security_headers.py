"""Security headers on every response of the shop: one after-request hook, no library.

Flask-Talisman would do the same, but its last release is from 2023 and it brings settings we
would switch off (its own HTTPS redirect and session-cookie flags, which config.py and the
proxy already own). What the shop needs fits in this page and is tested route by route.
"""

import secrets
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request
from flask.wrappers import Response

from checkout.web.static_files import IMMUTABLE, is_current

# The catalog says nothing about anyone, and files are files: a browser may keep these (not
# their error pages). Every other answer (cart, checkout, orders, invoices, account, /staff,
# errors) is never stored.
MAY_BE_CACHED = frozenset({"static", "static_files.favicon", "media.product_image",
                           "catalog.index", "catalog.product"})
STRIPE_CHECKOUT = "https://checkout.stripe.com"
PERMISSIONS = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
               "microphone=(), payment=(), usb=()")
HSTS = "max-age=63072000; includeSubDomains"


def csp_nonce() -> str:
    """This response's nonce, for the rare <style> or <script> that has to be inline."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def payment_page_origins(config) -> list[str]:
    """Where a form of ours may lead: placing an order redirects its POST to the payment page."""
    if config.get("PAYMENTS") == "stripe":
        return [STRIPE_CHECKOUT]
    base = config.get("STRIPE_API_BASE")
    if base:
        # A sandbox in another process serves its hosted page from its own address.
        parts = urlsplit(base)
        return [f"{parts.scheme}://{parts.netloc}"]
    return []  # the mounted sandbox: the shop's own origin


def content_security_policy(nonce: str, form_targets: list[str]) -> str:
    """The policy: our own files only, nothing inline without the nonce, never in a frame."""
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        "img-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        " ".join(["form-action 'self'", *form_targets]),
    ])


def _add_headers(response: Response) -> Response:
    headers = response.headers
    config = current_app.config
    headers["Content-Security-Policy"] = content_security_policy(
        csp_nonce(), config["CSP_FORM_TARGETS"]
    )
    headers["X-Content-Type-Options"] = "nosniff"
    # same-origin, not no-referrer: Flask-WTF checks the Referer of every HTTPS form post.
    # Either way a ?t= order link never leaves the site in a Referer.
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Permissions-Policy"] = PERMISSIONS
    if config.get("HSTS"):
        headers["Strict-Transport-Security"] = HSTS
    # An error under one of those routes is the shop's page, signed in with the account's
    # links and the sign-out form's CSRF token, and a 404 is cacheable unless told otherwise.
    if request.endpoint in MAY_BE_CACHED and response.status_code < 400:
        if request.endpoint.startswith("catalog."):
            # Signed in, these pages show the cart badge and carry a CSRF token.
            headers["Cache-Control"] = "private, no-cache"
        elif request.endpoint == "static" and is_current(request.view_args["filename"],
                                                         request.args.get("v")):
            headers["Cache-Control"] = IMMUTABLE
    else:
        headers["Cache-Control"] = "private, no-store"
    return response


def init_security_headers(app: Flask) -> None:
    """Add the headers to every response and offer `csp_nonce()` to templates."""
    app.config["CSP_FORM_TARGETS"] = payment_page_origins(app.config)
    app.after_request(_add_headers)
    app.add_template_global(csp_nonce)
