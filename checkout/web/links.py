"""Absolute links into the shop that services hand to the provider or show to shoppers."""

from flask import current_app, url_for

from checkout.models import Order
from checkout.services.orders import access_token
from checkout.services.payment_sessions import ReturnUrls


def order_link(order: Order) -> str:
    """The order's tracking page, with the guest access token."""
    return url_for("orders.show", number=order.number, t=access_token(order))


def payment_page_url(order: Order) -> str:
    """The page where the shopper resumes or cancels payment (Stripe's cancel_url)."""
    return url_for("checkout.payment", number=order.number, t=access_token(order))


def bank_transfer_page_url(order: Order) -> str:
    """The page with the bank details and reference for an order paid by transfer."""
    return url_for("checkout.bank_transfer", number=order.number, t=access_token(order))


def pay_link(order: Order) -> str | None:
    """Where the shopper resumes or cancels payment, while the order waits for it."""
    return payment_page_url(order) if order.awaiting_payment else None


def return_urls(order: Order) -> ReturnUrls:
    """Where Stripe Checkout sends the shopper back to, as absolute URLs."""
    base = current_app.config["PUBLIC_BASE_URL"]
    return ReturnUrls(
        success=base + url_for("checkout.success") + "?session_id={CHECKOUT_SESSION_ID}",
        cancel=base + payment_page_url(order),
    )
