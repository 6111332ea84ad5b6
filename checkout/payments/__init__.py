"""The payment gateway the services talk to, built once per app in app.extensions."""

import time
from collections.abc import Callable

import stripe
from flask import Flask, current_app

from checkout.payments.gateway import (
    CheckoutSessionInfo,
    InvalidWebhook,
    PaymentGateway,
    RefundInfo,
    StripeGateway,
    UnknownToProvider,
    check_event,
    refund_info,
    session_info,
)

__all__ = [
    "CheckoutSessionInfo", "InvalidWebhook", "PaymentGateway", "RefundInfo", "StripeGateway",
    "UnknownToProvider", "check_event", "gateway", "init_payments", "refund_info", "session_info",
]


def gateway() -> PaymentGateway:
    """The payment gateway this app was built with."""
    return current_app.extensions["payments"]


def init_payments(
    app: Flask, *, base: str | None = None, http_client: stripe.HTTPClient | None = None,
    clock: Callable[[], float] | None = None,
) -> None:
    """Build the Stripe gateway: real Stripe, or the sandbox through the very same SDK calls.

    `base` replaces Stripe's API address and `http_client` the SDK's transport (the sandbox
    in process), and `clock` the provider's time (the sandbox's can be moved forward);
    nothing else differs.
    """
    client = stripe.StripeClient(
        app.config["STRIPE_SECRET_KEY"],
        base_addresses={"api": base} if base else None,
        http_client=http_client,
        max_network_retries=2,
    )
    app.extensions["payments"] = StripeGateway(
        client, app.config["STRIPE_WEBHOOK_SECRET"], clock or time.time
    )
