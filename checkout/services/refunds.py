"""Refunds: asked for by the shop or found made at the provider; never more than was captured.

A refund is written to the ledger first (pending, counted against its payment at once, with
its own idempotency key), then sent with no transaction open, then its answer recorded: a
crash or an unreachable provider leaves a pending refund that `send_unsent` sends again under
the same key, so it can never be made twice. The provider's refund events move it on.

A refund of a bank-transfer payment (no payment intent) is the same ledger row, counted the
same way, but it is never sent to the provider: the shop's bank pays it back. It stays pending
until staff record the transfer back with its bank reference (`mark_sent_by_bank`); then it
succeeds, with its credit note and "refund made" e-mail, as a card refund does on Stripe's word.
"""

import logging

from sqlalchemy import select, update

from checkout.domain.errors import GatewayUnavailable, RefundNotAllowed
from checkout.domain.money import format_money
from checkout.domain.outcomes import Outcome
from checkout.domain.payment_status import (
    COUNTED_REFUND_STATUSES,
    REFUND_TRANSITIONS,
    PaymentMethod,
    PaymentStatus,
    RefundStatus,
    payment_status_for_refunded,
    refund_status_from_provider,
)
from checkout.extensions import db
from checkout.models import Order, Payment, Refund
from checkout.models.order import EventKind, FlagCode
from checkout.models.payment import RefundReason
from checkout.payments import RefundInfo, gateway
from checkout.payments.gateway import GatewayRequestRejected
from checkout.services import invoices, notifications
from checkout.services.orders import lock_order

log = logging.getLogger(__name__)

CAPTURED = frozenset(
    {PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)


def _count_against(payment: Payment, delta: int) -> bool:
    """Move the payment's refunded amount by `delta` if it stays within 0..amount.

    One conditional UPDATE, like a stock hold: two refunds asked for at once cannot both
    take the last of the money, on SQLite or PostgreSQL.
    """
    result = db.session.execute(
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.amount_refunded + delta <= Payment.amount,
            Payment.amount_refunded + delta >= 0,
        )
        .values(amount_refunded=Payment.amount_refunded + delta)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(payment)
    if result.rowcount == 1:
        payment.move_to(payment_status_for_refunded(payment.amount, payment.amount_refunded))
    return result.rowcount == 1


def by_bank(payment: Payment) -> bool:
    """Is this payment paid back by the shop's bank (a bank transfer), not by the provider?"""
    return payment.provider == PaymentMethod.BANK_TRANSFER


def refundable(payment: Payment) -> int:
    """What is left to refund on a payment, in minor units."""
    if PaymentStatus(payment.status) not in CAPTURED:
        return 0
    return payment.amount - payment.amount_refunded


def record_refund(
    order: Order,
    payment: Payment,
    amount: int,
    *,
    reason: RefundReason,
    key: str,
    actor: str,
    user_id: int | None = None,
) -> Refund:
    """Write a refund to send, counted against its payment at once (flush only).

    `key` names the request: asking again with the same key returns the same refund.
    Raises RefundNotAllowed for an amount that is not positive or more than is left.
    """
    # Under the order's lock, a second request with this key (a double click, two staff
    # members) waits for the first and finds its refund.
    order = lock_order(order.id)
    existing = db.session.scalar(select(Refund).where(Refund.idempotency_key == key))
    if existing is not None:
        return existing
    if amount <= 0:
        raise RefundNotAllowed("A refund must be for more than nothing.")
    if PaymentStatus(payment.status) not in CAPTURED:
        raise RefundNotAllowed("Only a captured payment can be refunded.")
    if not _count_against(payment, amount):
        left = format_money(refundable(payment), payment.currency)
        raise RefundNotAllowed(f"Only {left} of this payment is left to refund.")
    refund = Refund(
        order_id=order.id,
        payment_id=payment.id,
        amount=amount,
        currency=payment.currency,
        reason=reason,
        idempotency_key=key,
        requested_by=actor,
        requested_by_user_id=user_id,
    )
    db.session.add(refund)
    order.record(
        EventKind.PAYMENT, "Refund of {amount} requested.", actor=actor, user_id=user_id,
        amount=amount,
    )
    db.session.flush()
    return refund


def send_unsent(order_id: int | None = None) -> int:
    """Send every pending refund the provider has not heard of yet; return how many went.

    Each is sent with no transaction open, under its own key, so a refund sent twice (two
    workers, a retry after a crash) is made once. One the provider cannot take now stays
    pending for the next run.
    """
    query = (
        select(Refund.id)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(
            Refund.status == RefundStatus.PENDING,
            Refund.provider_refund_id.is_(None),
            # A bank transfer has no payment intent: staff pay it back from the bank.
            Payment.provider != PaymentMethod.BANK_TRANSFER,
        )
    )
    if order_id is not None:
        query = query.where(Refund.order_id == order_id)
    refund_ids = list(db.session.scalars(query.order_by(Refund.id)))
    db.session.commit()
    sent = 0
    for refund_id in refund_ids:
        refund = db.session.get(Refund, refund_id)
        payment = db.session.get(Payment, refund.payment_id)
        order = db.session.get(Order, refund.order_id)
        db.session.commit()
        try:
            info = gateway().refund(
                payment.payment_intent_id,
                refund.amount,
                idempotency_key=refund.idempotency_key,
                metadata={"order_number": order.number, "refund_request": refund.idempotency_key,
                          "reason": str(refund.reason)},
            )
        except GatewayRequestRejected as exc:
            # The provider will never make it (already refunded there, say): staff decide.
            _fail(refund, f"rejected: {exc}", actor="system")
            db.session.commit()
            continue
        except GatewayUnavailable:
            log.warning("refund %s not sent: provider unreachable", refund.idempotency_key)
            continue
        apply_refund(info, actor="system")
        db.session.commit()
        sent += 1
    return sent


def mark_sent_by_bank(
    order: Order, refund_id: int, reference: str, *, actor: str, user_id: int | None = None
) -> Refund | None:
    """Record that staff sent a bank refund back by transfer; commit. None if not the order's.

    The order is locked and the refund read again under the lock, so a double submit or two
    staff members record it once: the second is refused (RefundNotAllowed), nothing changed.
    """
    try:
        order = lock_order(order.id)
        refund = db.session.scalar(
            select(Refund)
            .where(Refund.id == refund_id, Refund.order_id == order.id)
            .execution_options(populate_existing=True)
        )
        if refund is None:
            db.session.rollback()
            return None
        payment = db.session.get(Payment, refund.payment_id)
        if not by_bank(payment):
            raise RefundNotAllowed(
                "This refund is made by Stripe, not by bank transfer: its status comes from "
                "Stripe."
            )
        if RefundStatus(refund.status) != RefundStatus.PENDING:
            raise RefundNotAllowed(
                f"This refund is already {refund.status}"
                + (f" (bank reference {refund.bank_reference})" if refund.bank_reference else "")
                + ": it is not recorded twice."
            )
        refund.bank_reference = reference
        refund.move_to(RefundStatus.SUCCEEDED)
        order.record(
            EventKind.PAYMENT, f"Refunded {{amount}} by bank transfer (reference {reference}).",
            actor=actor, user_id=user_id, amount=refund.amount,
        )
        note = invoices.issue_credit_note(refund)
        notifications.enqueue_refund_made(order, refund, note)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return refund


def apply_refund(info: RefundInfo, *, actor: str) -> Outcome:
    """Apply what the provider says of a refund, however it reached us (flush only).

    Found by its provider id, else by the request key in its metadata (an answer we never
    got), else it was made outside the shop and is recorded now. The order is locked before
    the refund is looked for, so two events about one refund handled at once (refund.created
    and charge.refunded) queue up and the second finds what the first recorded. Idempotent:
    applying the same or an older state changes nothing.
    """
    try:
        new = refund_status_from_provider(info.status)
    except ValueError:
        log.warning("refund %s has a status the shop does not know: %r", info.id, info.status)
        return Outcome.IGNORED
    refund = _known_refund(info)
    payment = (
        db.session.get(Payment, refund.payment_id) if refund is not None
        else _payment_of_intent(info.payment_intent)
    )
    if payment is None:
        return Outcome.UNMATCHED
    order = lock_order(payment.order_id)
    refund = _known_refund(info)
    if refund is None:
        return _record_external(info, order, payment, new, actor=actor)
    db.session.refresh(refund)
    refund.provider_refund_id = info.id
    if new not in REFUND_TRANSITIONS[RefundStatus(refund.status)]:
        # Nothing new, or an older state arriving after a newer one (Stripe keeps no order:
        # a refund's failure can arrive before its creation).
        db.session.flush()
        return Outcome.STALE
    if new in COUNTED_REFUND_STATUSES:
        refund.move_to(new)
        order.record(EventKind.PAYMENT, "Refunded {amount}.", actor=actor, amount=refund.amount)
        note = invoices.issue_credit_note(refund)
        if new == RefundStatus.SUCCEEDED:
            notifications.enqueue_refund_made(order, refund, note)
    else:
        _fail(refund, info.failure_reason or str(new), actor=actor, status=new)
    db.session.flush()
    return Outcome.REFUND_UPDATED


def _known_refund(info: RefundInfo) -> Refund | None:
    refund = db.session.scalar(
        select(Refund)
        .where(Refund.provider_refund_id == info.id)
        .execution_options(populate_existing=True)
    )
    if refund is None and info.request_key:
        refund = db.session.scalar(
            select(Refund)
            .where(Refund.idempotency_key == info.request_key)
            .execution_options(populate_existing=True)
        )
    return refund


def _payment_of_intent(payment_intent: str | None) -> Payment | None:
    if payment_intent is None:
        return None
    return db.session.scalar(select(Payment).where(Payment.payment_intent_id == payment_intent))


def _fail(refund: Refund, why: str, *, actor: str, status=RefundStatus.FAILED) -> None:
    """A refund that will not reach the shopper: give the amount back to the payment, flag it."""
    order = lock_order(refund.order_id)
    payment = db.session.get(Payment, refund.payment_id)
    refund.move_to(status)
    refund.failure_reason = why[:120]
    _count_against(payment, -refund.amount)
    order.record(
        EventKind.PAYMENT, f"The refund of {{amount}} did not go through ({why}).",
        actor=actor, amount=refund.amount,
    )
    detail = (
        f"refund {refund.provider_refund_id or refund.idempotency_key} {status}: return the "
        "money another way or refund again"
    )
    order.flag(FlagCode.REFUND_FAILED, detail, actor=actor)
    notifications.alert_staff(
        order, FlagCode.REFUND_FAILED, detail, cause=refund.idempotency_key
    )
    db.session.flush()


def _record_external(
    info: RefundInfo, order: Order, payment: Payment, status: RefundStatus, *, actor: str
) -> Outcome:
    """Record a refund made outside the shop (the provider's dashboard) against its payment.

    One that cannot count against the payment (another currency, a payment not captured,
    more than is left) is not written to the ledger: the order is flagged for staff instead,
    so that its later events can never move the payment's refunded amount either.
    """
    amount = format_money(info.amount, payment.currency)
    counted = status in COUNTED_REFUND_STATUSES
    problem = None
    if info.currency is not None and info.currency.upper() != payment.currency.upper():
        problem = f"is in {info.currency.upper()}, the payment in {payment.currency}"
    elif counted and PaymentStatus(payment.status) not in CAPTURED:
        problem = f"is for payment {payment.checkout_session_id}, which was never captured"
    elif counted and not _count_against(payment, info.amount):
        problem = f"of {amount} takes more than is left to refund on the payment"
    if problem is not None:
        detail = f"refund {info.id} made outside the shop {problem}"
        order.flag(FlagCode.PAYMENT_MISMATCH, detail, actor=actor)
        notifications.alert_staff(order, FlagCode.PAYMENT_MISMATCH, detail, cause=info.id)
        db.session.flush()
        return Outcome.FLAGGED
    refund = Refund(
        order_id=order.id,
        payment_id=payment.id,
        amount=info.amount,
        currency=payment.currency,
        reason=RefundReason.EXTERNAL,
        status=status,
        idempotency_key=f"external-{info.id}",
        provider_refund_id=info.id,
        failure_reason=info.failure_reason,
        requested_by="stripe dashboard",
    )
    db.session.add(refund)
    db.session.flush()
    note = invoices.issue_credit_note(refund)
    if status == RefundStatus.SUCCEEDED:
        notifications.enqueue_refund_made(order, refund, note)
    message = (
        "Refunded {amount} outside the shop."
        if counted
        else f"A refund of {{amount}} made outside the shop did not go through ({status})."
    )
    order.record(EventKind.PAYMENT, message, actor=actor, amount=info.amount)
    if not counted:
        # Heard of only once it had failed: staff are told as when one fails later (_fail).
        detail = f"refund {info.id} {status}: return the money another way or refund again"
        order.flag(FlagCode.REFUND_FAILED, detail, actor=actor)
        notifications.alert_staff(
            order, FlagCode.REFUND_FAILED, detail, cause=refund.idempotency_key
        )
    db.session.flush()
    return Outcome.REFUND_RECORDED
