"""What a Checkout Session's outcome does to its order: the one idempotent `fulfil` path.

The success page and the webhook both land here, in any order and any number of times;
the order row is locked first, and every branch checks what already happened, so each
payment has exactly one effect.
"""

import logging

from flask import current_app
from sqlalchemy import select

from checkout.domain.errors import DiscountRefused
from checkout.domain.money import format_money
from checkout.domain.order_status import PAID_STATUSES, UNPAID_STATUSES, OrderStatus
from checkout.domain.outcomes import Outcome
from checkout.domain.payment_status import AttemptStatus, PaymentStatus
from checkout.extensions import db
from checkout.logs import following_payment
from checkout.models import CheckoutAttempt, Order, Payment
from checkout.models.order import EventKind, FlagCode
from checkout.models.payment import RefundReason
from checkout.payments import CheckoutSessionInfo
from checkout.services import discounts, inventory, invoices, notifications, refunds, reminders
from checkout.services.orders import lock_order

log = logging.getLogger(__name__)


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
        notifications.alert_staff(order, FlagCode.PAYMENT_MISMATCH, problem, cause=session.id)
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


def apply_session(order: Order, session: CheckoutSessionInfo, *, actor: str) -> Outcome:
    """Apply a completed session to its order (flush only); return what happened."""
    order = lock_order(order.id)
    if _flag_mismatch(order, session, actor=actor):
        return Outcome.FLAGGED
    if session.status != "complete":
        return Outcome.NOT_COMPLETE
    _attempt(session.id).move_to(AttemptStatus.COMPLETE)
    if session.payment_status in ("paid", "no_payment_required"):
        return _confirm(order, session, actor=actor)
    return _processing(order, session, actor=actor)


def apply_checkout_session(
    order: Order, session: CheckoutSessionInfo, *, actor: str
) -> Outcome:
    """Apply a session the shopper came back from and commit: don't wait for the webhook.

    A refund the late-payment policy asked for is then sent; if the provider cannot take it
    now, it stays pending for the next try (refunds.send_unsent).
    """
    # Tagged with the checkout's request id, as a webhook's lines are: one payment, one id.
    with following_payment(session.metadata.get("request_id")):
        try:
            outcome = apply_session(order, session, actor=actor)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        log.info("order %s: checkout session applied by %s: %s", order.number, actor, outcome)
        refunds.send_unsent(order.id)
    return outcome


def _confirm(order: Order, session: CheckoutSessionInfo, *, actor: str) -> Outcome:
    payment = _payment(session)
    if payment is not None and payment.status != PaymentStatus.PROCESSING:
        return Outcome.DUPLICATE
    if payment is None:
        payment = _new_payment(order, session, PaymentStatus.SUCCEEDED)
    payment.move_to(PaymentStatus.SUCCEEDED)
    payment.payment_intent_id = session.payment_intent
    return confirm_payment(order, payment, actor=actor, cause=session.id)


def confirm_payment(
    order: Order,
    payment: Payment,
    *,
    actor: str,
    cause: str,
    user_id: int | None = None,
    received: str = "Payment of {amount} received.",
) -> Outcome:
    """Apply money captured for a locked order (flush only): the one way an order gets paid.

    Holds become a reservation, the invoice is issued, the discount use counted and the
    confirmation written; a payment for an order already paid or cancelled is flagged for
    staff instead. `cause` names what brought the money (a session, a bank transfer) in
    alert keys; `received` is the timeline line, with `{amount}` where the amount goes.
    """
    status = OrderStatus(order.status)
    order.record(
        EventKind.PAYMENT, received, actor=actor, user_id=user_id, amount=payment.amount
    )
    if status in PAID_STATUSES:
        detail = (
            f"a second payment ({cause}) arrived for an order already paid; refund it"
        )
        order.flag(FlagCode.DUPLICATE_PAYMENT, detail, actor=actor)
        notifications.alert_staff(order, FlagCode.DUPLICATE_PAYMENT, detail, cause=cause)
        db.session.flush()
        return Outcome.FLAGGED
    if status == OrderStatus.CANCELLED:
        detail = "a payment arrived for a cancelled order; refund it or revive the order"
        order.flag(FlagCode.PAYMENT_FOR_CLOSED_ORDER, detail, actor=actor)
        notifications.alert_staff(order, FlagCode.PAYMENT_FOR_CLOSED_ORDER, detail, cause=cause)
        db.session.flush()
        return Outcome.FLAGGED
    late = status == OrderStatus.EXPIRED
    reserved = inventory.convert_holds(order, actor=actor, user_id=user_id)
    order.transition_to(
        OrderStatus.PAYMENT_CONFIRMED,
        actor=actor,
        user_id=user_id,
        message="Payment confirmed after the reservation had lapsed." if late
        else "Payment confirmed.",
    )
    invoices.issue_invoice(order, payment=payment)
    if not reserved:
        _late_payment_short_of_stock(order, payment, actor=actor, cause=cause)
    if order.status == OrderStatus.PAYMENT_CONFIRMED:
        # Late (or a bank debit that revived an expired order and settles only now): the use
        # is counted when the money lands and the order stands, so nothing refunded or failed
        # holds one.
        _count_revived_discount(order, actor=actor)
        # With the confirmation, in its transaction: keyed by the order, it is sent once.
        notifications.enqueue_order_confirmation(order)
    db.session.flush()
    return Outcome.CONFIRMED


def _count_revived_discount(order: Order, *, actor: str) -> None:
    """Count the code's use again for an order that expired before its payment landed, or flag it.

    Expiry gave the use back; the money is real, so the order keeps its price either way, but
    a code with no use left for it (its last went to another order meanwhile) is not counted
    past its limits: staff decide whether to absorb the discount or ask for the difference.
    """
    try:
        discounts.count_again(order)
    except DiscountRefused as refused:
        discount = order.pricing_context.discount
        detail = (
            f"paid after its hold lapsed, at {format_money(order.discount, order.currency)} off "
            f"with code {discount.code}, whose use it gave back on expiry could not be counted "
            f"again ({refused}); the discount was honoured without counting a use"
        )
        order.flag(FlagCode.DISCOUNT_OVER_LIMIT, detail, actor=actor)
        notifications.alert_staff(
            order, FlagCode.DISCOUNT_OVER_LIMIT, detail, cause=discount.code
        )


def _late_payment_short_of_stock(
    order: Order, payment: Payment, *, actor: str, cause: str
) -> None:
    """Apply LATE_PAYMENT_POLICY to a paid order whose stock was sold while it was unpaid."""
    if current_app.config["LATE_PAYMENT_POLICY"] == "flag":
        detail = "paid after its hold lapsed and some items are no longer in stock"
        order.flag(FlagCode.STOCK_SHORTAGE, detail, actor=actor)
        notifications.alert_staff(order, FlagCode.STOCK_SHORTAGE, detail, cause=cause)
        return
    # The refund is written now and sent after commit; its key makes a redelivered event
    # find this same refund, never ask for a second one.
    refunds.record_refund(
        order,
        payment,
        payment.amount,
        reason=RefundReason.LATE_PAYMENT_OUT_OF_STOCK,
        key=f"late-payment-refund-{cause}",
        actor=actor,
    )
    inventory.return_sales(order, note=f"order {order.number} refunded")
    order.transition_to(
        OrderStatus.CANCELLED,
        actor=actor,
        message="Cancelled: out of stock when the payment arrived; the payment is refunded.",
    )


def _processing(order: Order, session: CheckoutSessionInfo, *, actor: str) -> Outcome:
    if _payment(session) is not None:
        return Outcome.DUPLICATE
    _new_payment(order, session, PaymentStatus.PROCESSING)
    status = OrderStatus(order.status)
    if status not in UNPAID_STATUSES:
        db.session.flush()
        return Outcome.STALE
    # A bank debit can take days: the hold now lasts until the payment settles.
    inventory.set_hold_expiry(order, None)
    order.transition_to(
        OrderStatus.PAYMENT_PROCESSING,
        actor=actor,
        message="Checkout complete; the payment is processing and will settle later.",
    )
    db.session.flush()
    return Outcome.PROCESSING


def payment_failed(order: Order, session: CheckoutSessionInfo, *, actor: str) -> Outcome:
    """A delayed payment failed: the order waits for payment again while its hold lasts."""
    order = lock_order(order.id)
    if _flag_mismatch(order, session, actor=actor):
        return Outcome.FLAGGED
    payment = _payment(session)
    if payment is None:
        # The failure outran the completion (Stripe keeps no order): remember it, so the
        # completion arriving later finds the payment settled and leaves the hold alone.
        _attempt(session.id).move_to(AttemptStatus.COMPLETE)
        _new_payment(order, session, PaymentStatus.FAILED)
        order.record(EventKind.PAYMENT, "The bank debit failed.", actor=actor)
        notifications.enqueue_payment_failed(order, session.id)
        db.session.flush()
        return Outcome.PAYMENT_FAILED
    if payment.status != PaymentStatus.PROCESSING:
        return Outcome.STALE
    payment.move_to(PaymentStatus.FAILED)
    order.record(EventKind.PAYMENT, "The bank debit failed.", actor=actor)
    if OrderStatus(order.status) != OrderStatus.PAYMENT_PROCESSING:
        db.session.flush()
        return Outcome.STALE
    order.transition_to(
        OrderStatus.PENDING_PAYMENT,
        actor=actor,
        message="Payment failed; the order is waiting for another payment.",
    )
    if inventory.active_holds(order):
        inventory.set_hold_expiry(order, inventory.hold_deadline())
    else:
        order.transition_to(OrderStatus.EXPIRED, actor=actor, message="No stock left on hold.")
    # Keyed by the session: a redelivered failure event mails nobody twice.
    notifications.enqueue_payment_failed(order, session.id)
    db.session.flush()
    return Outcome.PAYMENT_FAILED


def expire(
    order: Order, session_id: str | None, *, actor: str, lapsed: bool = True
) -> Outcome:
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
        if attempt.is_live:
            attempt.move_to(AttemptStatus.EXPIRED)
    if not order.awaiting_payment:
        db.session.flush()
        return Outcome.STALE
    if not lapsed:
        db.session.flush()
        return Outcome.SESSION_CLOSED
    still_open = db.session.scalar(
        select(CheckoutAttempt).where(
            CheckoutAttempt.order_id == order.id,
            CheckoutAttempt.status.in_([AttemptStatus.OPEN, AttemptStatus.CREATING]),
        )
    )
    if still_open is not None:
        db.session.flush()
        return Outcome.SUPERSEDED
    inventory.release_holds(order, actor=actor)
    discounts.give_back(order)
    order.transition_to(
        OrderStatus.EXPIRED, actor=actor, message="Not paid in time; the items were released."
    )
    # Only a lapsed order gets it (a shopper's cancel never comes here), written with the
    # expiry: keyed by the order, the webhook and the sweeper racing send it once.
    reminders.enqueue_recovery(order)
    db.session.flush()
    return Outcome.EXPIRED
