"""Placing orders and sending shoppers to pay: the path money and stock take together."""

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from checkout.db import now_utc
from checkout.domain.errors import (
    EmptyCart,
    GatewayUnavailable,
    OrderNotPayable,
    OutOfStock,
    Shortage,
)
from checkout.domain.order_status import OrderStatus
from checkout.domain.pricing import price_lines
from checkout.extensions import db
from checkout.models import Cart, CheckoutAttempt, Order, OrderLine
from checkout.models.order import EventKind
from checkout.models.payment import AttemptStatus
from checkout.payments import CheckoutSessionInfo, PaymentGateway
from checkout.payments.gateway import GatewayRequestRejected
from checkout.services import cart as carts
from checkout.services import inventory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShippingDetails:
    email: str
    name: str
    line1: str
    line2: str
    city: str
    postal_code: str
    country: str


def gateway() -> PaymentGateway:
    """The payment gateway this app was built with."""
    return current_app.extensions["payments"]


def hold_deadline() -> datetime:
    """When a hold taken now runs out, to the whole second (Stripe's expires_at is in seconds)."""
    minutes = current_app.config["CHECKOUT_HOLD_MINUTES"]
    return (now_utc() + timedelta(minutes=minutes, seconds=1)).replace(microsecond=0)


def place_order(
    cart: Cart | None, details: ShippingDetails, checkout_token: str, user_id: int | None
) -> Order:
    """Create the order, its line snapshots and its stock holds, and empty the cart: one commit.

    The checkout form carries a one-time token: a second submit of the same form (double
    click, back button, retry) finds the first order instead of placing another.
    """
    existing = _order_placed_with(checkout_token)
    if existing is not None:
        return existing
    if cart is not None:
        # Two tabs checking out one cart at once: the second waits, then finds it empty.
        cart = db.session.execute(
            select(Cart)
            .where(Cart.id == cart.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
        db.session.expire(cart, ["lines"])
    if cart is None or not cart.lines:
        # A simultaneous submit of this same form may have just placed it and emptied the cart.
        existing = _order_placed_with(checkout_token)
        if existing is not None:
            return existing
        raise EmptyCart("Your cart is empty.")
    currency = current_app.config["STORE_CURRENCY"]
    lines = carts.priced_lines(cart)
    inactive = [line for line in cart.lines if not line.product.is_active]
    if inactive:
        raise OutOfStock(
            [Shortage(x.product.sku, x.product.title, x.quantity, 0) for x in inactive]
        )
    totals = price_lines(lines, currency)
    order = Order(
        checkout_token=checkout_token,
        user_id=user_id,
        email=details.email,
        ship_name=details.name,
        ship_line1=details.line1,
        ship_line2=details.line2,
        ship_city=details.city,
        ship_postal_code=details.postal_code,
        ship_country=details.country,
        currency=totals.currency,
        subtotal=totals.subtotal,
        discount=totals.discount,
        shipping=totals.shipping,
        tax=totals.tax,
        total=totals.total,
    )
    for cart_line, priced in zip(cart.lines, lines, strict=True):
        order.lines.append(
            OrderLine(
                product_id=cart_line.product_id,
                sku=priced.sku,
                title=priced.title,
                unit_price=priced.unit_price,
                quantity=priced.quantity,
                line_total=priced.line_total,
            )
        )
    order.record(EventKind.STATUS, "Order placed; awaiting payment.", actor="shopper")
    db.session.add(order)
    try:
        db.session.flush()
        inventory.hold_stock(order, hold_deadline())
        cart.lines.clear()
        db.session.commit()
    except IntegrityError:
        # The same form won a race against itself: the other submit placed the order.
        db.session.rollback()
        existing = _order_placed_with(checkout_token)
        if existing is None:
            raise
        return existing
    except Exception:
        db.session.rollback()
        raise
    return order


def _order_placed_with(checkout_token: str) -> Order | None:
    return db.session.scalar(select(Order).where(Order.checkout_token == checkout_token))


def _session_params(order: Order, expires_at: datetime, attempt_key: str) -> dict:
    """The Checkout Session request for an order: amounts from its snapshot, never the browser."""
    base = current_app.config["PUBLIC_BASE_URL"]
    return {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": order.currency.lower(),
                    "unit_amount": line.unit_price,
                    "product_data": {"name": line.title, "metadata": {"sku": line.sku}},
                },
                "quantity": line.quantity,
            }
            for line in order.lines
        ],
        "customer_email": order.email,
        "client_reference_id": order.number,
        # The attempt's key lets a webhook find a session whose creation answer we never got.
        "metadata": {"order_number": order.number, "checkout_attempt": attempt_key},
        "payment_intent_data": {"metadata": {"order_number": order.number}},
        "success_url": base
        + url_for("checkout.success")
        + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": base + payment_page_url(order),
        "expires_at": int(expires_at.timestamp()),
    }


def order_link(order: Order) -> str:
    """The order's tracking page, with the guest access token."""
    from checkout.services.orders import access_token

    return url_for("orders.show", number=order.number, t=access_token(order))


def payment_page_url(order: Order) -> str:
    """The page where the shopper resumes or cancels payment (Stripe's cancel_url)."""
    from checkout.services.orders import access_token

    return url_for("checkout.payment", number=order.number, t=access_token(order))


def attempts_of(order: Order) -> list[CheckoutAttempt]:
    """The order's Checkout Session requests, oldest first."""
    return list(
        db.session.scalars(
            select(CheckoutAttempt)
            .where(CheckoutAttempt.order_id == order.id)
            .order_by(CheckoutAttempt.number)
        )
    )


def _new_attempt(order: Order, expires_at: datetime) -> CheckoutAttempt:
    number = (
        db.session.scalar(
            select(func.max(CheckoutAttempt.number)).where(CheckoutAttempt.order_id == order.id)
        )
        or 0
    ) + 1
    key = f"checkout-session-{order.number}-{number}"
    attempt = CheckoutAttempt(
        order_id=order.id,
        number=number,
        idempotency_key=key,
        params=json.dumps(_session_params(order, expires_at, key), sort_keys=True),
        expires_at=expires_at,
    )
    db.session.add(attempt)
    return attempt


def current_hold_expiry(order: Order) -> datetime | None:
    """When the order's stock hold runs out (None: no timed hold left)."""
    holds = inventory.active_holds(order)
    expiries = [h.expires_at for h in holds if h.expires_at is not None]
    return min(expiries) if expiries else None


def start_payment(order: Order) -> str:
    """Return the URL where the shopper pays: the open session, or a new one.

    An order never has two payable sessions: an open one is reused, and one that cannot be
    reused is expired before a new one is made. A request that failed is sent again with the
    same idempotency key and parameters, so a session Stripe made but we never heard of is
    the one we get back.
    """
    from checkout.services.fulfilment import lock_order

    # Two submits of one form arrive together: the second waits here until the first has
    # recorded its request, then sends that same request instead of making a second session.
    order = lock_order(order.id)
    if OrderStatus(order.status) != OrderStatus.PENDING_PAYMENT:
        db.session.commit()
        raise OrderNotPayable("This order is not waiting for payment.")
    attempts = attempts_of(order)
    latest = attempts[-1] if attempts else None
    reusable = (
        latest is not None
        and latest.status == AttemptStatus.OPEN
        and latest.url
        and latest.expires_at > now_utc() + timedelta(seconds=30)
    )
    if reusable:
        db.session.commit()
        return latest.url
    hold_expiry = current_hold_expiry(order)
    if hold_expiry is None or hold_expiry <= now_utc():
        raise OrderNotPayable(
            "The time to pay for this order has run out and its items were released."
        )
    resend = latest is not None and latest.status == AttemptStatus.CREATING
    # Expiring talks to the provider, so it lets go of the lock: then look at the order afresh.
    if expire_open_sessions(order, attempts[:-1] if resend else attempts):
        return start_payment(order)
    if not resend:
        latest = _new_attempt(order, hold_expiry)
    db.session.commit()
    return _send(order, latest, may_renew=True)


def _send(order: Order, attempt: CheckoutAttempt, *, may_renew: bool) -> str:
    """Send an attempt's request and keep the session it yields, if the order still wants it."""
    from checkout.services.fulfilment import lock_order

    # Nothing is open in the database while we wait on the network.
    params, key = json.loads(attempt.params), attempt.idempotency_key
    try:
        session = gateway().create_checkout(params, key)
    except GatewayRequestRejected as exc:
        db.session.rollback()
        if exc.param == "expires_at" and may_renew:
            return _renew_and_send(order, attempt, str(exc))
        _note_failure(attempt, str(exc))
        raise
    except GatewayUnavailable as exc:
        db.session.rollback()
        _note_failure(attempt, str(exc))
        raise
    # Look again under the lock: a cancel in another tab may have closed the order meanwhile.
    order = lock_order(order.id)
    db.session.refresh(attempt)
    wanted = OrderStatus(order.status) == OrderStatus.PENDING_PAYMENT and attempt.status in (
        AttemptStatus.CREATING,
        AttemptStatus.OPEN,
    )
    if not wanted:
        db.session.commit()
        if session.status == "open":
            _expire_quietly(session.id)
        raise OrderNotPayable("This order is no longer waiting for payment.")
    _remember_session(order, attempt, session)
    db.session.commit()
    if session.url is None:
        # The replayed session was already paid or closed: let the success page sort it out.
        return url_for("checkout.success", session_id=session.id)
    return session.url


def _note_failure(attempt: CheckoutAttempt, error: str) -> None:
    attempt.last_error = error
    db.session.commit()


def _renew_and_send(order: Order, attempt: CheckoutAttempt, error: str) -> str:
    """Give the hold a fresh period and ask again under a new key (the old one never ran).

    Stripe wants a session's expiry at least 30 minutes ahead, and a first try can age past
    that. A hold is renewed only while the order is young, so nobody camps on the last unit.
    """
    from checkout.services.fulfilment import lock_order

    order = lock_order(order.id)
    attempt.status = AttemptStatus.EXPIRED
    attempt.last_error = error
    minutes = current_app.config["CHECKOUT_HOLD_MINUTES"]
    too_old = now_utc() > order.created_at + timedelta(minutes=2 * minutes)
    if OrderStatus(order.status) != OrderStatus.PENDING_PAYMENT or too_old:
        db.session.commit()
        raise OrderNotPayable("The time to pay for this order has run out.")
    deadline = hold_deadline()
    inventory.set_hold_expiry(order, deadline)
    order.record(
        EventKind.STOCK,
        f"Items held until {deadline:%H:%M} UTC for a new payment page.",
        actor="shopper",
    )
    fresh = _new_attempt(order, deadline)
    db.session.commit()
    return _send(order, fresh, may_renew=False)


def _expire_quietly(session_id: str) -> None:
    """Close a session nobody should pay any more; one already closed is fine."""
    try:
        gateway().expire_checkout(session_id)
    except GatewayRequestRejected:
        pass
    except GatewayUnavailable:
        # Its payment, should one come, is flagged for staff as money for a closed order.
        log.error("could not expire unwanted session %s", session_id)


def expire_open_sessions(order: Order, attempts: list[CheckoutAttempt]) -> bool:
    """Expire every open session of the order; if one was paid meanwhile, apply that instead.

    Return whether there was anything to expire (the transaction was committed if so).
    """
    from checkout.services import fulfilment

    stale = [a for a in attempts if a.status in (AttemptStatus.OPEN, AttemptStatus.CREATING)]
    if not stale:
        return False
    db.session.commit()
    for attempt in stale:
        if attempt.status == AttemptStatus.CREATING and not _recover_session(order, attempt):
            continue
        session = _expire_session(attempt)
        db.session.commit()
        if session.status == "complete":
            fulfilment.apply_checkout_session(order, session, actor="shopper")
            raise OrderNotPayable("This order has already been paid.")
    return True


def _remember_session(order: Order, attempt: CheckoutAttempt, session: CheckoutSessionInfo):
    if attempt.session_id is None:
        order.record(EventKind.PAYMENT, "Payment page opened on Stripe Checkout.", actor="shopper")
    attempt.session_id = session.id
    attempt.url = session.url
    attempt.last_error = None
    attempt.status = {
        "open": AttemptStatus.OPEN,
        "complete": AttemptStatus.COMPLETE,
        "expired": AttemptStatus.EXPIRED,
    }[session.status]


def _recover_session(order: Order, attempt: CheckoutAttempt) -> bool:
    """Learn whether a request whose answer never came made a session; say if one exists.

    Resending it with the same key returns the session the provider made, if any. One it
    rejects as stale never ran, so there is nothing to expire.
    """
    try:
        session = gateway().create_checkout(json.loads(attempt.params), attempt.idempotency_key)
    except GatewayRequestRejected:
        attempt.status = AttemptStatus.EXPIRED
        db.session.commit()
        return False
    _remember_session(order, attempt, session)
    db.session.commit()
    return True


def _expire_session(attempt: CheckoutAttempt) -> CheckoutSessionInfo:
    """Make a session unpayable; the answer says whether it was paid first."""
    try:
        session = gateway().expire_checkout(attempt.session_id)
    except GatewayRequestRejected:
        # Only open sessions can be expired: this one completed or expired meanwhile.
        session = gateway().retrieve_checkout(attempt.session_id)
    attempt.status = AttemptStatus.COMPLETE if session.status == "complete" else (
        AttemptStatus.EXPIRED
    )
    attempt.url = None
    return session


def cancel_order(order: Order, cart: Cart | None, user_id: int | None) -> Cart | None:
    """Cancel an unpaid order: expire its sessions, release its hold, refill the cart.

    If the shopper paid in another tab before the session could be expired, the payment wins:
    the order is confirmed instead and OrderNotPayable tells the shopper so. A session opened
    meanwhile (resume in another tab) is expired too before the order is cancelled.
    """
    from checkout.services.fulfilment import lock_order

    while True:
        order = lock_order(order.id)
        if OrderStatus(order.status) != OrderStatus.PENDING_PAYMENT:
            db.session.commit()
            raise OrderNotPayable("This order is no longer waiting for payment, so it was not "
                                  "cancelled.")
        live = [a for a in attempts_of(order)
                if a.status in (AttemptStatus.OPEN, AttemptStatus.CREATING)]
        if not live:
            break
        try:
            expire_open_sessions(order, live)
        except OrderNotPayable:
            paid = "This order was paid just now, so it was not cancelled."
            raise OrderNotPayable(paid) from None
    inventory.release_holds(order, actor="shopper")
    order.transition_to(OrderStatus.CANCELLED, actor="shopper", message="Cancelled by the shopper.")
    cart = carts.put_back(
        cart, user_id, [(line.product_id, line.quantity) for line in order.lines if line.product_id]
    )
    db.session.commit()
    return cart


def confirm_return(session_id: str) -> Order | None:
    """Apply the session the shopper came back from (Stripe: don't wait for the webhook).

    Returns the order as it now stands, or None for a session we never issued. If the
    provider cannot be reached, the order is left for the webhook to confirm.
    """
    from checkout.services import fulfilment

    order = find_order_by_session(session_id)
    if order is None:
        return None
    db.session.commit()  # hold no database lock while waiting on the provider
    try:
        session = gateway().retrieve_checkout(session_id)
    except GatewayUnavailable:
        return order
    if session.status == "complete":
        try:
            fulfilment.apply_checkout_session(order, session, actor="shopper")
        except GatewayUnavailable:
            # A late-payment refund could not be made now: the webhook will try again.
            log.warning("confirming session %s left to the webhook", session_id)
    db.session.refresh(order)
    return order


def find_order_by_session(session_id: str) -> Order | None:
    """The order a session was made for, as far as we heard back from the provider."""
    attempt = db.session.scalar(
        select(CheckoutAttempt).where(CheckoutAttempt.session_id == session_id)
    )
    return db.session.get(Order, attempt.order_id) if attempt else None


def adopt_session(session: CheckoutSessionInfo) -> Order | None:
    """Tie a session to the attempt that asked for it when its creation answer was lost.

    The attempt's key travels in the session's metadata; only an attempt still waiting for
    its answer, of the order the session names, adopts it.
    """
    key = session.metadata.get("checkout_attempt")
    if not key:
        return None
    attempt = db.session.scalar(
        select(CheckoutAttempt).where(
            CheckoutAttempt.idempotency_key == key,
            CheckoutAttempt.session_id.is_(None),
            CheckoutAttempt.status == AttemptStatus.CREATING,
        )
    )
    order = db.session.get(Order, attempt.order_id) if attempt else None
    if order is None or order.number != session.client_reference_id:
        return None
    attempt.session_id = session.id
    attempt.status = AttemptStatus.OPEN
    return order


def awaiting_retry(order: Order) -> bool:
    """Say whether the last request for a payment page failed and waits to be sent again."""
    attempts = attempts_of(order)
    return bool(attempts) and attempts[-1].status == AttemptStatus.CREATING


def payment_url(order: Order) -> str | None:
    """Where the shopper resumes or cancels payment, while the order waits for it."""
    if OrderStatus(order.status) != OrderStatus.PENDING_PAYMENT:
        return None
    return payment_page_url(order)
