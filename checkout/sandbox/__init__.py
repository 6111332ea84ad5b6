"""The built-in Stripe-compatible payment sandbox (see README.md beside this file)."""

from __future__ import annotations

from flask import Flask

from checkout.sandbox.core import DeliveryResult, PaymentResult, Sandbox

__all__ = ["DeliveryResult", "PaymentResult", "Sandbox", "init_app"]


def init_app(app: Flask) -> Sandbox:
    """Mount the sandbox's API, hosted page and controls on `app` and return it.

    Does no I/O: the database is opened and the delivery thread started on first use.
    """
    from checkout.extensions import csrf
    from checkout.sandbox import api, cli, page

    if app.config.get("CHECKOUT_ENV") == "production":
        raise RuntimeError("the payment sandbox is never served in production")
    if not str(app.config.get("STRIPE_SECRET_KEY", "")).startswith("sk_test_"):
        raise RuntimeError("the payment sandbox only accepts an sk_test_… STRIPE_SECRET_KEY")
    sandbox = Sandbox(app)
    app.extensions["sandbox"] = sandbox
    for blueprint in (api.bp, page.bp):
        # The API is called by the SDK with a Bearer key and the page by the shopper arriving
        # from the shop: neither carries the shop's CSRF token (the session id is the secret).
        csrf.exempt(blueprint)
        app.register_blueprint(blueprint)
    app.before_request(sandbox.ensure_worker)
    app.cli.add_command(cli.sandbox_cli)
    return sandbox
