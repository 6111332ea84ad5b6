"""The Checkout Session request lifecycle: params, start, send, renew, recover, adopt, expire.

Every request for a payment page is a CheckoutAttempt row holding the exact parameters and
idempotency key, written before the request is sent: a lost answer is recovered by sending
the same request again, and a webhook about a session we never heard of finds its attempt.

The public functions are use cases: each talks to the provider only with no database
transaction open (one transaction decides, the call runs, another records the answer), and
each commits its own work; others call them only with nothing uncommitted. The private
helpers under them only flush.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from checkout.db import now_utc
from checkout.domain.errors import GatewayUnavailable, OrderNotPayable
from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import AttemptStatus
from checkout.domain.shopper_timeline import PAYMENT_PAGE_OPENED
from checkout.extensions import db
from checkout.logs import current_request_id
from checkout.models import CheckoutAttempt, Order
from checkout.models.order import EventKind
from checkout.payments import CheckoutSessionInfo, gateway
from checkout.payments.gateway import GatewayRequestRejected
from checkout.services import fulfilment, inventory, pricing
from checkout.services.orders import lock_order

log = logging.getLogger(__name__)

# A session this close to its expiry is not worth sending a shopper to.
MIN_SESSION_LIFE = timedelta(seconds=30)
SESSION_STATUS = {
    "open": AttemptStatus.OPEN,
    "complete": AttemptStatus.COMPLETE,
    "expired": AttemptStatus.EXPIRED,
}


@dataclass(frozen=True)
class ReturnUrls:
    """Where the provider sends the shopper back: absolute URLs the web layer builds."""

    # Must contain {CHECKOUT_SESSION_ID}, which the provider fills in.
    success: str
    # The page to resume or cancel payment.
    cancel: str

    def success_for(self, session_id: str) -> str:
        return self.success.replace("{CHECKOUT_SESSION_ID}", session_id)


def attempts_of(order: Order) -> list[CheckoutAttempt]:
    """The order's Checkout Session requests, oldest first."""
    return list(
        db.session.scalars(
            select(CheckoutAttempt)
            .where(CheckoutAttempt.order_id == order.id)
            .order_by(CheckoutAttempt.number)
        )
    )


def awaiting_retry(order: Order) -> bool:
    """Say whether the last request for a payment page failed and waits to be sent again."""
    attempts = attempts_of(order)
    return bool(attempts) and attempts[-1].status == AttemptStatus.CREATING


def find_order_by_session(session_id: str) -> Order | None:
    """The order a session was made for, as far as we heard back from the provider."""
    attempt = _attempt_of_session(session_id)
    return db.session.get(Order, attempt.order_id) if attempt else None


def adopt_session(session: CheckoutSessionInfo) -> Order | None:
    """Tie a session to the attempt that asked for it when its creation answer was lost.

    The attempt's key travels in the session's metadata; only an attempt still waiting for
    its answer, of the order the session names, adopts it. Flushes only.
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
    # As if the answer had come: the attempt takes the session's state and payment page.
    _remember_session(order, attempt, session)
    return order


def start(order: Order, urls: ReturnUrls, prepared: CheckoutAttempt | None = None) -> str:
    """Return the URL where the shopper pays: the open session, or a new one.

    An order never has two payable sessions: an open one is reused, and one that cannot be
    reused is expired before a new one is made. A request that failed is sent again with the
    same idempotency key and parameters, so a session the provider made but we never heard of
    is the one we get back. Raises OrderNotPayable, GatewayUnavailable or PaymentDeclined.
    `prepared` is the first request of an order placed in this same request (first_attempt),
    committed with it: there is nothing to decide, it is sent as it is.
    """
    attempt = prepared
    while attempt is None:
        # Two submits of one form arrive together: the second waits here until the first
        # has recorded its request, then sends that same request instead of making another.
        order = lock_order(order.id)
        try:
            step = _next_step(order, urls)
        except OrderNotPayable:
            db.session.commit()
            raise
        db.session.commit()
        if isinstance(step, str):
            return step
        if isinstance(step, CheckoutAttempt):
            attempt = step
            break
        # Sessions that must not stay payable: close them, then look at the order afresh.
        expire_live(order, spare_retry=True)

    # The session names the order's coupon: it must exist before the session is asked for.
    try:
        pricing.publish_coupon(order)
    except GatewayUnavailable as exc:
        attempt.last_error = str(exc)
        db.session.commit()
        raise
    renewed = False
    while True:
        try:
            session = gateway().create_checkout(attempt.request, attempt.idempotency_key)
            break
        except GatewayRequestRejected as exc:
            if exc.param != "expires_at" or renewed:
                attempt.last_error = str(exc)
                db.session.commit()
                raise
            # Stripe wants the expiry at least 30 minutes ahead and this request aged past
            # that: it never ran, so a fresh request under a new key replaces it.
            renewed = True
            try:
                attempt = _renewed(order, attempt, str(exc))
            except OrderNotPayable:
                db.session.commit()
                raise
            db.session.commit()
        except GatewayUnavailable as exc:
            # Kept for "try again", which resends this very request under its key.
            attempt.last_error = str(exc)
            db.session.commit()
            raise

    if attempt is prepared and _record_first_answer(order, attempt, session):
        db.session.commit()
        return session.url or ReturnUrls(**_return_urls(attempt)).success_for(session.id)
    # Look again under the lock: a cancel in another tab may have closed the order meanwhile.
    order = lock_order(order.id)
    db.session.refresh(attempt)
    wanted = order.awaiting_payment and attempt.is_live
    if wanted:
        _remember_session(order, attempt, session)
    db.session.commit()
    if not wanted:
        if session.status == "open":
            _expire_quietly(session.id)
        raise OrderNotPayable("This order is no longer waiting for payment.")
    if session.url is None:
        # The replayed session was already paid or closed: the success page sorts it out.
        return ReturnUrls(**_return_urls(attempt)).success_for(session.id)
    return session.url


def _next_step(order: Order, urls: ReturnUrls) -> str | CheckoutAttempt | None:
    """Decide under the order lock: a URL to reuse, the attempt to send, or None (expire)."""
    if not order.awaiting_payment:
        raise OrderNotPayable("This order is not waiting for payment.")
    # The hold, not the session, decides whether the order can still be paid: nobody is sent
    # to pay for stock the sweeper is about to put back on sale.
    hold_expiry = inventory.current_hold_expiry(order)
    if hold_expiry is None or hold_expiry <= now_utc():
        raise OrderNotPayable(
            "The time to pay for this order has run out and its items were released."
        )
    attempts = attempts_of(order)
    latest = attempts[-1] if attempts else None
    if (
        latest is not None
        and latest.status == AttemptStatus.OPEN
        and latest.url
        and latest.expires_at > now_utc() + MIN_SESSION_LIFE
    ):
        return latest.url
    resend = latest is not None and latest.status == AttemptStatus.CREATING
    if any(a.is_live for a in (attempts[:-1] if resend else attempts)):
        return None
    if resend:
        return latest
    return _new_attempt(order, hold_expiry, urls)


def _renewed(order: Order, attempt: CheckoutAttempt, error: str) -> CheckoutAttempt:
    """Give the hold a fresh period and a new request under a new key (flush only).

    A hold is renewed only while the order is young, so nobody camps on the last unit; an
    older one raises OrderNotPayable (with the old request marked expired, to be committed).
    """
    order = lock_order(order.id)
    db.session.refresh(attempt)
    attempt.move_to(AttemptStatus.EXPIRED)
    attempt.last_error = error
    minutes = current_app.config["CHECKOUT_HOLD_MINUTES"]
    too_old = now_utc() > order.created_at + timedelta(minutes=2 * minutes)
    if not order.awaiting_payment or too_old:
        db.session.flush()
        raise OrderNotPayable("The time to pay for this order has run out.")
    deadline = inventory.hold_deadline()
    inventory.set_hold_expiry(order, deadline)
    order.record(
        EventKind.STOCK,
        f"Items held until {deadline:%H:%M} UTC for a new payment page.",
        actor="shopper",
    )
    return _new_attempt(order, deadline, ReturnUrls(**_return_urls(attempt)))


def expire_live(order: Order, *, spare_retry: bool = False) -> bool:
    """Make every payable session of the order unpayable; apply one found paid meanwhile.

    `spare_retry` leaves alone the latest request when it waits to be sent again (start()
    resends it). Return whether there was anything to expire. Raises OrderNotPayable when a
    session turns out paid (the order is confirmed instead), GatewayUnavailable when the
    provider cannot be reached.
    """
    attempts = attempts_of(order)
    if spare_retry and attempts and attempts[-1].status == AttemptStatus.CREATING:
        attempts = attempts[:-1]
    live = [a for a in attempts if a.is_live]
    db.session.commit()
    for attempt in live:
        if attempt.status == AttemptStatus.CREATING:
            # Resending with the same key returns the session the provider made, if any;
            # one it rejects as stale never ran, so there is nothing to expire.
            try:
                session = gateway().create_checkout(attempt.request, attempt.idempotency_key)
            except GatewayRequestRejected:
                attempt.move_to(AttemptStatus.EXPIRED)
                db.session.commit()
                continue
            _remember_session(order, attempt, session)
            db.session.commit()
        try:
            session = gateway().expire_checkout(attempt.session_id)
        except GatewayRequestRejected:
            # Only open sessions can be expired: this one completed or expired meanwhile.
            session = gateway().retrieve_checkout(attempt.session_id)
        attempt.move_to(SESSION_STATUS[session.status])
        db.session.commit()
        if session.status == "complete":
            fulfilment.apply_checkout_session(order, session, actor="shopper")
            raise OrderNotPayable("This order has already been paid.")
    return bool(live)


def _expire_quietly(session_id: str) -> None:
    """Close a session nobody should pay any more; one already closed is fine."""
    try:
        gateway().expire_checkout(session_id)
    except GatewayRequestRejected:
        pass
    except GatewayUnavailable:
        # Its payment, should one come, is flagged for staff as money for a closed order.
        log.error("could not expire unwanted session %s", session_id)


def _attempt_of_session(session_id: str) -> CheckoutAttempt | None:
    return db.session.scalar(
        select(CheckoutAttempt).where(CheckoutAttempt.session_id == session_id)
    )


def _record_first_answer(order: Order, attempt: CheckoutAttempt,
                         session: CheckoutSessionInfo) -> bool:
    """Record the answer to a request nobody else has answered, if its order still waits.

    One conditional UPDATE does what the lock, the fresh read and the update do otherwise: it
    takes the order's row lock inside it (queueing behind a cancel, the sweeper or a webhook)
    and matches only while the order waits for payment and the request is still unanswered.
    False, with nothing changed, sends the caller down the path that sorts every other case.
    """
    status = SESSION_STATUS[session.status]
    waiting = (
        select(Order.id)
        .where(Order.id == order.id, Order.status == OrderStatus.PENDING_PAYMENT)
        .with_for_update()
    )
    url = session.url if status == AttemptStatus.OPEN else None
    recorded = db.session.execute(
        update(CheckoutAttempt)
        .where(
            CheckoutAttempt.id == attempt.id,
            CheckoutAttempt.status == AttemptStatus.CREATING,
            CheckoutAttempt.session_id.is_(None),
            CheckoutAttempt.order_id.in_(waiting),
        )
        .values(session_id=session.id, status=status, url=url, last_error=None)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not recorded:
        return False
    for name, value in (("session_id", session.id), ("status", status), ("url", url),
                        ("last_error", None)):
        set_committed_value(attempt, name, value)
    order.record(EventKind.PAYMENT, PAYMENT_PAGE_OPENED, actor="shopper")
    db.session.flush()
    return True


def first_attempt(order: Order, expires_at: datetime, urls: ReturnUrls,
                  lines: list) -> CheckoutAttempt:
    """Write the first payment page request of an order being placed (flush only).

    Written in the order's own transaction, so the request is on record before it is sent;
    `lines` are the order's line snapshots (sku, title, unit_price, quantity), as just written.
    """
    key = f"checkout-session-{order.number}-1"
    attempt = CheckoutAttempt(
        order_id=order.id,
        number=1,
        idempotency_key=key,
        params=json.dumps(_session_params(order, expires_at, key, urls, lines), sort_keys=True),
        expires_at=expires_at,
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt


def _remember_session(order: Order, attempt: CheckoutAttempt, session: CheckoutSessionInfo):
    if attempt.session_id is None:
        order.record(EventKind.PAYMENT, PAYMENT_PAGE_OPENED, actor="shopper")
    attempt.session_id = session.id
    attempt.last_error = None
    attempt.move_to(SESSION_STATUS[session.status])
    attempt.url = session.url if attempt.status == AttemptStatus.OPEN else None
    db.session.flush()


def _new_attempt(order: Order, expires_at: datetime, urls: ReturnUrls) -> CheckoutAttempt:
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
        params=json.dumps(_session_params(order, expires_at, key, urls), sort_keys=True),
        expires_at=expires_at,
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt


def _return_urls(attempt: CheckoutAttempt) -> dict[str, str]:
    params = attempt.request
    return {"success": params["success_url"], "cancel": params["cancel_url"]}


def _session_params(order: Order, expires_at: datetime, key: str, urls: ReturnUrls,
                    lines: list | None = None) -> dict:
    """The Checkout Session request for an order: amounts from its snapshot, never the browser.

    The discount, shipping and tax go as Stripe's own coupon, shipping option and tax rates,
    so that Stripe's arithmetic (domain.pricing follows it) charges exactly the order's total.
    """
    context = order.pricing_context
    currency = order.currency.lower()
    tax_rate_ids = [rate.provider_id for rate in context.tax_rates]
    if None in tax_rate_ids or (
        context.discount is not None and context.discount.provider_coupon_id is None
    ):
        raise ValueError(f"order {order.number} is priced with rules Stripe does not know yet")
    # The request that made the session: its id comes back in every event about it, so the
    # logs follow one payment from the checkout through the webhooks.
    request_id = current_request_id()
    trace = {"request_id": request_id} if request_id else {}
    params: dict = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": line.unit_price,
                    "product_data": {"name": line.title, "metadata": {"sku": line.sku}},
                },
                "quantity": line.quantity,
                **({"tax_rates": tax_rate_ids} if tax_rate_ids else {}),
            }
            for line in (order.lines if lines is None else lines)
        ],
        "customer_email": order.email,
        "client_reference_id": order.number,
        # The attempt's key lets a webhook find a session whose creation answer we never got.
        "metadata": {"order_number": order.number, "checkout_attempt": key, **trace},
        "payment_intent_data": {"metadata": {"order_number": order.number, **trace}},
        "success_url": urls.success,
        "cancel_url": urls.cancel,
        "expires_at": int(expires_at.timestamp()),
    }
    if context.discount is not None:
        params["discounts"] = [{"coupon": context.discount.provider_coupon_id}]
    if context.shipping is not None:
        params["shipping_options"] = [
            {
                "shipping_rate_data": {
                    "type": "fixed_amount",
                    "display_name": context.shipping.name,
                    "fixed_amount": {"amount": context.shipping.amount, "currency": currency},
                }
            }
        ]
    return params
