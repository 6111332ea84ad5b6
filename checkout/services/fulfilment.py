"""What a Checkout Session's outcome does to its order: the one idempotent `fulfil` path.

The success page and the webhook both land here, in any order and any number of times;
the order row is locked first, and every branch checks what already happened, so each
payment has exactly one effect.
"""

import logging

from flask import current_app
from sqlalchemy import select

from checkout.domain.money import format_money
from checkout.domain.order_status import PAID_STATUSES, OrderStatus
from checkout.extensions import db
from checkout.models import CheckoutAttempt, Order, Payment
from checkout.models.order import EventKind, FlagCode
from checkout.models.payment import AttemptStatus, PaymentStatus
from checkout.payments import CheckoutSessionInfo
from checkout.services import inventory

log = logging.getLogger(__name__)


def lock_order(order_id: int) -> Order:
    """Load the order afresh and lock its row until commit (SQLite: the write lock already is)."""
    return db.session.execute(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _attempt(session_id: str) -> CheckoutAttempt | None:
    return db.session.scalar(
        select(CheckoutAttempt).where(CheckoutAttempt.session_id == session_id)
    )


def mismatch(order: Order, session: CheckoutSessionInfo) -> str | None:
    """Say why a session does not belong to an order, or None when every detail agrees."""
    attempt = _attempt(session.id)
    if attempt is None or attempt.order_id != order.id:
        return f"session {session.id} was not issued for order {order.number}"
    if session.client_reference_id != order.number:
        return f"session {session.id} names order {session.client_reference_id!r}"
    if session.amount_total != order.total:
        return (
            f"session {session.id} is for {session.amount_total} minor units, "
            f"the order totals {order.total}"
        )
    if (session.currency or "").lower() != order.currency.lower():
        return f"session {session.id} is in {session.currency}, the order in {order.currency}"
    return None


def _payment(session: CheckoutSessionInfo) -> Payment | None:
    return db.session.scalar(
        select(Payment).where(Payment.checkout_session_id == session.id)
    )


def _flag_mismatch(order: Order, session: CheckoutSessionInfo, *, actor: str) -> bool:
    """Flag the order for staff if the session does not belong to it; say whether it did."""
    problem = mismatch(order, session)
    if problem:
        order.flag(FlagCode.PAYMENT_MISMATCH, problem, actor=actor)
        db.session.flush()
    return problem is not None


def _new_payment(order: Order, session: CheckoutSessionInfo, status: PaymentStatus) -> Payment:
    payment = Payment(
        order_id=order.id,
        checkout_session_id=session.id,
        payment_intent_id=session.payment_intent,
        amount=session.amount_total or 0,
        currency=order.currency,
        status=status,
    )
    db.session.add(payment)
    return payment


def apply_session(order: Order, session: CheckoutSessionInfo, *, actor: str) -> str:
    """Apply a completed session to its order (flush only); return what happened."""
    order = lock_order(order.id)
    if _flag_mismatch(order, session, actor=actor):
        return "flagged"
    if session.status != "complete":
        return "not_complete"
    attempt = _attempt(session.id)
    attempt.status = AttemptStatus.COMPLETE
    attempt.url = None
    if session.payment_status in ("paid", "no_payment_required"):
        return _confirm(order, session, actor=actor)
    return _processing(order, session, actor=actor)


def apply_checkout_session(order: Order, session: CheckoutSessionInfo, *, actor: str) -> str:
    """Apply a session the shopper came back from and commit: don't wait for the webhook."""
    try:
        outcome = apply_session(order, session, actor=actor)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return outcome


def _confirm(order: Order, session: CheckoutSessionInfo, *, actor: str) -> str:
    payment = _payment(session)
    if payment is not None and payment.status != PaymentStatus.PROCESSING:
        return "duplicate"
    status = OrderStatus(order.status)
    if payment is None:
        payment = _new_payment(order, session, PaymentStatus.SUCCEEDED)
    payment.status = PaymentStatus.SUCCEEDED
    payment.payment_intent_id = session.payment_intent
    order.record(
        EventKind.PAYMENT,
        f"Payment of {format_money(payment.amount, order.currency)} received.",
        actor=actor,
    )
    if status in PAID_STATUSES:
        order.flag(
            FlagCode.DUPLICATE_PAYMENT,
            f"a second payment (session {session.id}) arrived for an order already paid; "
            "refund it",
            actor=actor,
        )
        db.session.flush()
        return "flagged"
    if status == OrderStatus.CANCELLED:
        order.flag(
            FlagCode.PAYMENT_FOR_CLOSED_ORDER,
            "a payment arrived for a cancelled order; refund it or revive the order",
            actor=actor,
        )
        db.session.flush()
        return "flagged"
    late = status == OrderStatus.EXPIRED
    reserved = inventory.convert_holds(order, actor=actor)
    order.transition_to(
        OrderStatus.PAYMENT_CONFIRMED,
        actor=actor,
        message="Payment confirmed after the reservation had lapsed." if late
        else "Payment confirmed.",
    )
    if not reserved:
        _late_payment_short_of_stock(order, payment, actor=actor)
    db.session.flush()
    return "confirmed"


def _late_payment_short_of_stock(order: Order, payment: Payment, *, actor: str) -> None:
    """Apply LATE_PAYMENT_POLICY to a paid order whose stock was sold while it was unpaid."""
    if current_app.config["LATE_PAYMENT_POLICY"] == "flag":
        order.flag(
            FlagCode.STOCK_SHORTAGE,
            "paid after its hold lapsed and some items are no longer in stock",
            actor=actor,
        )
        return
    gateway = current_app.extensions["payments"]
    # The key makes a redelivered event ask for the same refund, never a second one.
    refund = gateway.refund(
        payment.payment_intent_id,
        payment.amount,
        idempotency_key=f"late-payment-refund-{payment.checkout_session_id}",
        metadata={"order_number": order.number, "reason": "late_payment_out_of_stock"},
    )
    if refund.status in ("failed", "canceled"):
        order.flag(
            FlagCode.STOCK_SHORTAGE,
            "paid after its hold lapsed, the items sold out, and the automatic refund "
            f"{refund.id} failed: refund it by hand",
            actor=actor,
        )
        return
    payment.amount_refunded = refund.amount
    full = refund.amount == payment.amount
    payment.status = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
    inventory.return_sales(order, note=f"order {order.number} refunded")
    order.record(
        EventKind.PAYMENT,
        f"Refunded {format_money(refund.amount, order.currency)}"
        f"{' in full' if full else ''}: the items sold out before the payment arrived.",
        actor=actor,
    )
    order.transition_to(
        OrderStatus.CANCELLED, actor=actor, message="Cancelled: out of stock when payment arrived."
    )


def _processing(order: Order, session: CheckoutSessionInfo, *, actor: str) -> str:
    if _payment(session) is not None:
        return "duplicate"
    _new_payment(order, session, PaymentStatus.PROCESSING)
    status = OrderStatus(order.status)
    if status not in (OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED):
        db.session.flush()
        return "stale"
    # A bank debit can take days: the hold now lasts until the payment settles.
    inventory.set_hold_expiry(order, None)
    order.transition_to(
        OrderStatus.PAYMENT_PROCESSING,
        actor=actor,
        message="Checkout complete; the payment is processing and will settle later.",
    )
    db.session.flush()
    return "processing"


def payment_failed(order: Order, session: CheckoutSessionInfo, *, actor: str) -> str:
    """A delayed payment failed: the order waits for payment again while its hold lasts."""
    from checkout.services.checkout import hold_deadline

    order = lock_order(order.id)
    if _flag_mismatch(order, session, actor=actor):
        return "flagged"
    payment = _payment(session)
    if payment is None:
        # The failure outran the completion (Stripe keeps no order): remember it, so the
        # completion arriving later finds the payment settled and leaves the hold alone.
        _attempt(session.id).status = AttemptStatus.COMPLETE
        _new_payment(order, session, PaymentStatus.FAILED)
        order.record(EventKind.PAYMENT, "The bank debit failed.", actor=actor)
        db.session.flush()
        return "payment_failed"
    if payment.status != PaymentStatus.PROCESSING:
        return "stale"
    payment.status = PaymentStatus.FAILED
    order.record(EventKind.PAYMENT, "The bank debit failed.", actor=actor)
    if OrderStatus(order.status) != OrderStatus.PAYMENT_PROCESSING:
        db.session.flush()
        return "stale"
    order.transition_to(
        OrderStatus.PENDING_PAYMENT,
        actor=actor,
        message="Payment failed; the order is waiting for another payment.",
    )
    if inventory.active_holds(order):
        inventory.set_hold_expiry(order, hold_deadline())
    else:
        order.transition_to(OrderStatus.EXPIRED, actor=actor, message="No stock left on hold.")
    db.session.flush()
    return "payment_failed"


def expire(order: Order, session_id: str | None, *, actor: str, lapsed: bool = True) -> str:
    """Expire an unpaid order and release its hold, unless something newer supersedes it.

    `lapsed` says the session ran out of time; a session closed early (by our own cancel or
    resume) only stops being payable: the hold, not the session, decides the order's life.
    """
    order = lock_order(order.id)
    if session_id is not None:
        attempts = [a for a in [_attempt(session_id)] if a is not None]
    else:
        # The sweeper: the hold lapsed, so any session asked for has lapsed with it.
        attempts = list(
            db.session.scalars(select(CheckoutAttempt).where(CheckoutAttempt.order_id == order.id))
        )
    for attempt in attempts:
        if attempt.status in (AttemptStatus.OPEN, AttemptStatus.CREATING):
            attempt.status = AttemptStatus.EXPIRED
            attempt.url = None
    if OrderStatus(order.status) != OrderStatus.PENDING_PAYMENT:
        db.session.flush()
        return "stale"
    if not lapsed:
        db.session.flush()
        return "session_closed"
    still_open = db.session.scalar(
        select(CheckoutAttempt).where(
            CheckoutAttempt.order_id == order.id,
            CheckoutAttempt.status.in_([AttemptStatus.OPEN, AttemptStatus.CREATING]),
        )
    )
    if still_open is not None:
        db.session.flush()
        return "superseded"
    inventory.release_holds(order, actor=actor)
    order.transition_to(
        OrderStatus.EXPIRED, actor=actor, message="Not paid in time; the items were released."
    )
    db.session.flush()
    return "expired"
