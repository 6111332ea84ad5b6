"""The payment gateway the services talk to, built once per app in app.extensions."""

from flask import Flask, current_app

from checkout.payments.gateway import (
    CheckoutSessionInfo,
    InvalidWebhook,
    PaymentGateway,
    RefundInfo,
    StripeGateway,
    refund_info,
    session_info,
)

__all__ = [
    "CheckoutSessionInfo", "InvalidWebhook", "PaymentGateway", "RefundInfo", "StripeGateway",
    "gateway", "init_payments", "refund_info", "session_info",
]


def gateway() -> PaymentGateway:
    """The payment gateway this app was built with."""
    return current_app.extensions["payments"]


def init_payments(app: Flask) -> None:
    """Build the Stripe gateway: real Stripe, or the sandbox through the very same SDK calls."""
    import stripe

    base = app.config.get("STRIPE_API_BASE")
    http_client = None
    if app.config["PAYMENTS"] == "sandbox" and not base:
        from checkout.sandbox_wiring import sandbox_http_client

        # No socket to ourselves: a single sync worker would otherwise wait on itself. A
        # sandbox behind STRIPE_API_BASE is another process: the SDK's own client reaches it.
        base, http_client = sandbox_http_client(app)
    client = stripe.StripeClient(
        app.config["STRIPE_SECRET_KEY"],
        base_addresses={"api": base} if base else None,
        http_client=http_client,
        max_network_retries=2,
    )
    app.extensions["payments"] = StripeGateway(client, app.config["STRIPE_WEBHOOK_SECRET"])
