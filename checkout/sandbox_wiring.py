"""The one place the shop meets the payment sandbox (`PAYMENTS=sandbox` only).

The sandbox is its own Flask app (`stripe_sandbox.create_app`) mounted beside the shop under
MOUNT by a WSGI dispatcher: it shares nothing with the shop but the process.
"""

from __future__ import annotations

import stripe
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

import stripe_sandbox
from stripe_sandbox.cli import sandbox_cli

MOUNT = "/sandbox/stripe"


def mount_sandbox(app: Flask) -> stripe_sandbox.Sandbox:
    """Build the sandbox from the shop's settings, mount it, and return its control API."""
    config = app.config
    if config.get("CHECKOUT_ENV") == "production":
        raise RuntimeError("the payment sandbox is never served in production")
    if not str(config.get("STRIPE_SECRET_KEY", "")).startswith("sk_test_"):
        raise RuntimeError("the payment sandbox only accepts an sk_test_… STRIPE_SECRET_KEY")
    shop_url = config["PUBLIC_BASE_URL"].rstrip("/")
    sandbox_app = stripe_sandbox.create_app({
        "API_KEY": config["STRIPE_SECRET_KEY"],
        "WEBHOOK_SECRET": config["STRIPE_WEBHOOK_SECRET"],
        "WEBHOOK_URL": config.get("SANDBOX_WEBHOOK_URL") or [],
        "DATABASE_URL": config["SANDBOX_DATABASE_URL"],
        "PUBLIC_URL": shop_url + MOUNT,
        "DISPLAY_NAME": config.get("STORE_NAME", "Sandbox store"),
        "BACKGROUND": bool(config.get("SANDBOX_BACKGROUND", True)),
    })
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {MOUNT: sandbox_app})  # type: ignore[method-assign]
    sandbox = stripe_sandbox.sandbox_of(sandbox_app)
    # Webhooks to the shop's own URL go straight into this process: one sync worker must not
    # wait on itself over a socket.
    sandbox.deliver_in_process(shop_url, app)
    app.extensions["sandbox"] = sandbox
    app.extensions["sandbox_app"] = sandbox_app
    # After a restart, due retries and expiries resume with the shop's first request, not only
    # once somebody reaches the sandbox again.
    app.before_request(sandbox.ensure_worker)
    app.cli.add_command(sandbox_cli)
    return sandbox


def sandbox_http_client(app: Flask) -> tuple[str, stripe.HTTPClient]:
    """Return the API base and the in-process HTTP client that reach the mounted sandbox."""
    sandbox_app = app.extensions["sandbox_app"]
    base = stripe_sandbox.sandbox_of(sandbox_app).api_base
    return base, stripe_sandbox.InProcessHTTPClient(sandbox_app, base)
