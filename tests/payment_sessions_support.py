"""What the payment_sessions service tests share: an order placed as the form does, the
return URLs, a gateway that loses answers, and readers of the timeline, stock and sandbox."""

import json
import secrets

from checkout.domain.errors import GatewayUnavailable
from checkout.domain.payment_status import AttemptStatus
from checkout.extensions import db
from checkout.models import Order, Product, Stock
from checkout.models.order import EventKind
from checkout.services import checkout
from checkout.services.payment_sessions import ReturnUrls, attempts_of
from tests.conftest import BASE_URL
from tests.factories import CartFactory, CheckoutAttemptFactory
from tests.shop import ADDRESS

URLS = ReturnUrls(
    success=f"{BASE_URL}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}",
    cancel=f"{BASE_URL}/checkout/orders/pay-again",
)
PAGE_OPENED = (EventKind.PAYMENT, "Payment page opened on Stripe Checkout.")
OPEN, CREATING = AttemptStatus.OPEN, AttemptStatus.CREATING
COMPLETE, EXPIRED = AttemptStatus.COMPLETE, AttemptStatus.EXPIRED


def place(products: dict[str, int], sku: str = "PEN", quantity: int = 2) -> Order:
    """Place an order the way the checkout form does: line snapshots and a stock hold."""
    cart = CartFactory(items=[(db.session.get(Product, products[sku]), quantity)])
    details = checkout.ShippingDetails(**ADDRESS)
    return checkout.place_order(cart, details, secrets.token_urlsafe(16), None)


def timeline_of(order: Order) -> list[tuple[str, str]]:
    db.session.refresh(order)
    return [(event.kind, event.message) for event in order.events]


def stock_now(product_id: int) -> tuple[int, int]:
    """(on_hand, held) of a product, read afresh in this test's session (SQLite has one writer)."""
    stock = db.session.get(Stock, product_id)
    db.session.refresh(stock)
    return stock.on_hand, stock.held


def sandbox_session_ids(sandbox) -> list[str]:
    return sorted(session["id"] for session in sandbox.list_sessions({})["data"])


def lose_answers(monkeypatch, app, *, reached: bool = True) -> list[str]:
    """Make create_checkout fail like a dropped connection; return the sessions made meanwhile.

    The sandbox always answers, so the gateway is wrapped: `reached` says whether the request
    got to the provider (it made the session) before the answer was lost.
    """
    provider = app.extensions["payments"]
    real = provider.create_checkout
    made: list[str] = []

    def answer_lost(params, key):
        if reached:
            made.append(real(params, key).id)
        raise GatewayUnavailable("The payment provider could not be reached.")

    monkeypatch.setattr(provider, "create_checkout", answer_lost)
    return made


def second_live_attempt(order: Order) -> None:
    """Record a second request still waiting for its answer beside the open one.

    start() never leaves two live requests; an older release or a crash between its steps
    could, and expire_live must close them all.
    """
    [first] = attempts_of(order)
    key = f"checkout-session-{order.number}-2"
    params = first.request
    params["metadata"]["checkout_attempt"] = key
    CheckoutAttemptFactory(
        order=order, number=2, idempotency_key=key, params=json.dumps(params, sort_keys=True),
        status=CREATING, session_id=None, url=None, expires_at=first.expires_at,
    )


# start ---------------------------------------------------------------------------------------

