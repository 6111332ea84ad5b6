"""The staff order page and its actions: fulfil, ship, deliver, cancel, resolve a flag, note.

Every action locks the order first and checks, under that lock, that the order's status
still allows it (`domain.fulfilment_actions`): two staff members clicking at once queue up,
and the second finds the order moved on and is refused (ActionNotAllowed) with nothing
changed. Each leaves a timeline row naming the staff member and their account.
"""

from dataclasses import dataclass

from sqlalchemy import select

from checkout.db import now_utc
from checkout.domain.carriers import tracking_url
from checkout.domain.errors import ActionNotAllowed, OrderNotPayable
from checkout.domain.fulfilment_actions import (
    TARGETS,
    StaffAction,
    allowed,
    available,
    needs_admin,
)
from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import (
    CheckoutAttempt,
    Invoice,
    Order,
    OrderEvent,
    OrderFlag,
    Payment,
    User,
)
from checkout.models.order import EventKind, FlagCode
from checkout.models.payment import RefundReason
from checkout.services import (
    checkout,
    discounts,
    inventory,
    invoices,
    notifications,
    order_refunds,
    payment_sessions,
    refunds,
)
from checkout.services.order_refunds import RefundState
from checkout.services.orders import find_order, lock_order
from checkout.services.transactions import retry_once_on_conflict

# What staff should do about each reason an order is flagged.
FLAG_GUIDANCE: dict[FlagCode, str] = {
    FlagCode.STOCK_SHORTAGE: (
        "The order is paid but the stock ran out before the payment arrived. Restock and "
        "ship it, or cancel it (which refunds the shopper in full) and tell the shopper why."
    ),
    FlagCode.PAYMENT_MISMATCH: (
        "A payment event did not match this order (session, amount or currency). Compare the "
        "payments below with the provider's dashboard before shipping anything; refund what "
        "does not belong to the order."
    ),
    FlagCode.PAYMENT_FOR_CLOSED_ORDER: (
        "Money arrived for an order that was already closed. Refund it in full (admin), or "
        "contact the shopper if they still want the goods."
    ),
    FlagCode.DUPLICATE_PAYMENT: (
        "The order was paid twice. Refund the second payment in full (admin) and tell the "
        "shopper."
    ),
    FlagCode.REFUND_FAILED: (
        "A refund did not reach the shopper. Check the reason on the refund below, then "
        "refund again (admin) or return the money another way, and tell the shopper."
    ),
    FlagCode.DISCOUNT_OVER_LIMIT: (
        "Paid late with a discount code that had no use left. The price was honoured; decide "
        "whether to let it stand (usually) and note why."
    ),
    FlagCode.DISPUTED: (
        "The cardholder disputed the payment with their bank. Gather the order's evidence "
        "(address, tracking, e-mails) and answer the dispute in the provider's dashboard "
        "before its deadline; do not ship until it is settled."
    ),
}

_VERBS = {
    StaffAction.FULFIL: "start fulfilment on it",
    StaffAction.SHIP: "ship it",
    StaffAction.DELIVER: "mark it delivered",
    StaffAction.CANCEL: "cancel it",
}


@dataclass(frozen=True)
class TimelineEntry:
    event: OrderEvent
    # The e-mail of the staff account that acted, when a signed-in account did.
    account_email: str | None


@dataclass(frozen=True)
class FlagEntry:
    flag: OrderFlag
    guidance: str
    resolved_by_email: str | None


@dataclass(frozen=True)
class OrderPage:
    """Everything the staff order page shows, read in one place."""

    order: Order
    customer: User | None
    payments: list[Payment]
    refunds: RefundState
    sessions: list[CheckoutAttempt]
    invoice: Invoice | None
    timeline: list[TimelineEntry]
    open_flags: list[FlagEntry]
    resolved_flags: list[FlagEntry]
    actions: list[StaffAction]
    # Allowed by the status but an admin's to take (shown as such to plain staff).
    admin_actions: list[StaffAction]
    # Cancelling it now would refund the payment (it is paid).
    cancel_refunds: bool
    tracking_url: str | None


def page(number: str, *, is_admin: bool) -> OrderPage | None:
    """Read the staff view of the order with this number, or None if there is none.

    Its actions are those the status allows and the staff member may take.
    """
    order = find_order(number)
    if order is None:
        return None
    account_ids = {e.actor_user_id for e in order.events} | {
        f.resolved_by_user_id for f in order.flags
    }
    emails = dict(
        db.session.execute(select(User.id, User.email).where(User.id.in_(account_ids - {None})))
        .tuples()
        .all()
    )
    flags = [
        FlagEntry(f, FLAG_GUIDANCE[FlagCode(f.code)], emails.get(f.resolved_by_user_id))
        for f in order.flags
    ]
    return OrderPage(
        order=order,
        customer=db.session.get(User, order.user_id) if order.user_id else None,
        payments=list(
            db.session.scalars(select(Payment).where(Payment.order_id == order.id)
                               .order_by(Payment.id))
        ),
        refunds=order_refunds.refund_state(order),
        sessions=payment_sessions.attempts_of(order),
        invoice=invoices.invoice_of(order),
        timeline=[TimelineEntry(e, emails.get(e.actor_user_id)) for e in reversed(order.events)],
        open_flags=[f for f in flags if f.flag.resolved_at is None],
        resolved_flags=[f for f in flags if f.flag.resolved_at is not None],
        actions=[a for a in available(OrderStatus(order.status))
                 if is_admin or not needs_admin(a, OrderStatus(order.status))],
        admin_actions=[a for a in available(OrderStatus(order.status))
                       if not is_admin and needs_admin(a, OrderStatus(order.status))],
        cancel_refunds=needs_admin(StaffAction.CANCEL, OrderStatus(order.status)),
        tracking_url=tracking_url(order.tracking_carrier, order.tracking_number),
    )


def _locked_for(order_id: int, action: StaffAction) -> Order:
    """Lock the order and check that its status, as it is now, allows `action`."""
    order = lock_order(order_id)
    status = OrderStatus(order.status)
    if not allowed(action, status):
        db.session.rollback()
        raise ActionNotAllowed(
            f"Order {order.number} is {status.label.lower()}: you cannot {_VERBS[action]} now."
        )
    return order


def _move(order_id: int, action: StaffAction, message: str, *, actor: str,
          user_id: int) -> Order:
    """Lock the order, check `action` is allowed, and move to its status (uncommitted)."""
    order = _locked_for(order_id, action)
    order.transition_to(TARGETS[action], actor=actor, user_id=user_id, message=message)
    return order


def start_fulfilment(order_id: int, *, actor: str, user_id: int) -> Order:
    """Accept a paid order for packing."""
    order = _move(order_id, StaffAction.FULFIL, "Fulfilment started.", actor=actor,
                  user_id=user_id)
    db.session.commit()
    return order


def ship(order_id: int, carrier: str, tracking_number: str, *, actor: str, user_id: int) -> Order:
    """Record the parcel's carrier and tracking number, mark it shipped, and mail the shopper.

    The e-mail is keyed by the order: a shipment recorded twice could never mail twice, and
    the lock makes the second attempt find the order shipped and be refused anyway.
    """
    order = _move(order_id, StaffAction.SHIP,
                  f"Shipped with {carrier}, tracking number {tracking_number}.", actor=actor,
                  user_id=user_id)
    order.tracking_carrier = carrier
    order.tracking_number = tracking_number
    notifications.enqueue_order_shipped(order)
    db.session.commit()
    return order


def mark_delivered(order_id: int, *, actor: str, user_id: int) -> Order:
    """Record that the carrier delivered the order."""
    order = _move(order_id, StaffAction.DELIVER, "Delivered.", actor=actor, user_id=user_id)
    db.session.commit()
    return order


PAID_CANCEL_IS_A_REFUND = (
    "Only an admin can cancel a paid order: cancelling it refunds the payment."
)


@retry_once_on_conflict
def cancel(order_id: int, *, actor: str, user_id: int, may_refund: bool = True) -> Order:
    """Cancel an order: unpaid, expire its session and release its hold; paid, refund it all.

    A paid order's refunds are written in the same transaction as the cancellation, each
    under a key derived from the order and payment (a retry finds them), and sent after the
    commit with no transaction open; the refund service's retries send any the provider
    could not take now. Raises ActionNotAllowed when the status does not allow it (a payment
    landing while an unpaid order's session was being expired included), and when the order
    is paid and the staff member `may_refund` not (refunds are an admin's).
    """
    order = _locked_for(order_id, StaffAction.CANCEL)
    if needs_admin(StaffAction.CANCEL, OrderStatus(order.status)) and not may_refund:
        db.session.rollback()
        raise ActionNotAllowed(PAID_CANCEL_IS_A_REFUND)
    if OrderStatus(order.status) == OrderStatus.PENDING_PAYMENT:
        db.session.commit()  # hold no lock while the provider expires the sessions
        try:
            order = checkout.cancel_unpaid(order, actor=actor, user_id=user_id,
                                           message="Cancelled by staff before payment.")
        except OrderNotPayable as exc:
            raise ActionNotAllowed(str(exc)) from None
        db.session.commit()
        return order
    by_bank = _refund_everything(order, actor=actor, user_id=user_id)
    inventory.return_sales(order, note=f"order {order.number} cancelled by staff")
    # A paid order's holds became sales; should one be left over, it is let go too.
    inventory.release_holds(order, actor=actor, user_id=user_id)
    discounts.give_back(order)
    message = (
        "Cancelled by staff; the bank transfer is owed back in full: send it back from the "
        "shop's bank account, then mark the refund sent."
        if by_bank else "Cancelled by staff; the payment is refunded in full."
    )
    order.transition_to(OrderStatus.CANCELLED, actor=actor, user_id=user_id, message=message)
    db.session.commit()
    refunds.send_unsent(order.id)
    return order


def _refund_everything(order: Order, *, actor: str, user_id: int) -> bool:
    """Write a refund of what is left on each of the order's captured payments (flush only).

    Say whether any of them is a bank transfer, which staff pay back by hand.
    """
    payments = db.session.scalars(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.status.in_(refunds.CAPTURED))
        .order_by(Payment.id)
    ).all()
    by_bank = False
    for payment in payments:
        left = refunds.refundable(payment)
        if left:
            refunds.record_refund(
                order, payment, left, reason=RefundReason.ORDER_CANCELLED,
                key=f"staff-cancel-{order.number}-{payment.id}", actor=actor, user_id=user_id,
            )
            by_bank = by_bank or refunds.by_bank(payment)
    return by_bank


def resolve_flag(
    order_id: int, flag_id: int, note: str, *, actor: str, user_id: int
) -> OrderFlag | None:
    """Close an open flag with what was done about it; None if the order has no such flag.

    The note is staff's own words, so it goes on the timeline as an internal note.
    """
    order = lock_order(order_id)
    flag = db.session.scalar(
        select(OrderFlag)
        .where(OrderFlag.id == flag_id, OrderFlag.order_id == order.id)
        .execution_options(populate_existing=True)
    )
    if flag is None:
        db.session.rollback()
        return None
    if flag.resolved_at is not None:
        db.session.rollback()
        raise ActionNotAllowed("This flag is already resolved.")
    flag.resolved_at = now_utc()
    flag.resolved_by = actor
    flag.resolved_by_user_id = user_id
    flag.resolution = note
    order.record(EventKind.NOTE, f"Resolved the {flag.code} flag: {note}", actor=actor,
                 user_id=user_id)
    db.session.commit()
    return flag


def add_note(order_id: int, note: str, *, actor: str, user_id: int) -> Order:
    """Add an internal note to the order's timeline (staff see it, the shopper never does)."""
    order = lock_order(order_id)
    order.record(EventKind.NOTE, note, actor=actor, user_id=user_id)
    db.session.commit()
    return order
