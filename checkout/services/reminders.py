"""The two messages about unpaid orders: the payment reminder and the abandoned-checkout recovery.

The reminder is periodic work: an order still waiting for payment whose hold lapses within
PAYMENT_REMINDER_MINUTES, and whose payment session is still open, gets one e-mail linking to
its payment page, whose "Resume payment" reuses that same session. The recovery e-mail is
written by `fulfilment.expire` in the expiry's own transaction; its signed link puts the
order's items back in the shopper's current cart, once.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import exists, literal, select

from checkout.db import now_utc
from checkout.domain.errors import OrderNotRestorable, RestoreLinkExpired, RestoreLinkInvalid
from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import AttemptStatus
from checkout.domain.shopper_timeline import plural
from checkout.extensions import db
from checkout.models import Cart, CheckoutAttempt, Order, OrderEvent, OutboxMessage, StockHold
from checkout.models.inventory import HoldStatus
from checkout.models.order import EventKind
from checkout.services import cart as carts
from checkout.services import catalog, inventory, notifications
from checkout.services.orders import access_token, find_order, lock_order

REMINDER_KEY = "payment-reminder:"
RECOVERY_KEY = "recovery:"
RESTORE_SALT = "order-restore"


def send_payment_reminders(now: datetime | None = None) -> int:
    """Write one reminder for each unpaid order whose hold lapses soon; return how many."""
    now = now or now_utc()
    window_end = now + timedelta(minutes=current_app.config["PAYMENT_REMINDER_MINUTES"])
    lapsing_soon = select(StockHold.order_id).where(
        StockHold.status == HoldStatus.ACTIVE,
        StockHold.expires_at > now,
        StockHold.expires_at <= window_end,
    )
    # Only a session the shopper can still pay on: the reminder resumes it, never makes one.
    open_session = exists().where(
        CheckoutAttempt.order_id == Order.id,
        CheckoutAttempt.status == AttemptStatus.OPEN,
        CheckoutAttempt.url.is_not(None),
        CheckoutAttempt.expires_at > now,
    )
    reminded = exists().where(OutboxMessage.key == literal(REMINDER_KEY).concat(Order.number))
    try:
        orders = list(
            db.session.scalars(
                select(Order)
                .where(
                    Order.status == OrderStatus.PENDING_PAYMENT,
                    Order.id.in_(lapsing_soon),
                    open_session,
                    ~reminded,
                )
                .order_by(Order.id)
                # PostgreSQL: a second worker skips the orders the first is reminding, and a
                # payment or expiry holding an order's lock makes this run pass it by. SQLite
                # ignores it: BEGIN IMMEDIATE runs one writer at a time. The outbox key makes
                # any overlap that remains a no-op.
                .with_for_update(skip_locked=True, of=Order)
            )
        )
        written = sum(_enqueue_reminder(order) for order in orders)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return written


def _enqueue_reminder(order: Order) -> bool:
    expiry = inventory.current_hold_expiry(order)
    return notifications.enqueue(
        f"{REMINDER_KEY}{order.number}",
        "payment_reminder",
        order.email,
        {
            "order_number": order.number,
            "access_token": access_token(order),
            # Links to the payment page (mail._links), whose button resumes the open session.
            "payment_link": True,
            "customer_name": order.ship_name,
            "pay_by": f"{expiry:%H:%M} UTC" if expiry else None,
            "currency": order.currency,
            "lines": _lines(order),
            "total": order.total,
        },
    )


def _lines(order: Order) -> list[dict]:
    return [
        {"title": line.title, "quantity": line.quantity, "line_total": line.line_total}
        for line in order.lines
    ]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESTORE_SALT)


def restore_token(order: Order) -> str:
    """The signed, dated token in a recovery link: bound to this order number."""
    return _serializer().dumps(order.number)


def enqueue_recovery(order: Order) -> bool:
    """Write the abandoned-checkout e-mail for an order that just expired (flush only)."""
    return notifications.enqueue(
        f"{RECOVERY_KEY}{order.number}",
        "checkout_recovery",
        order.email,
        {
            "order_number": order.number,
            "restore_token": restore_token(order),
            "customer_name": order.ship_name,
            "currency": order.currency,
            "lines": _lines(order),
            "link_days": current_app.config["RECOVERY_LINK_DAYS"],
        },
    )


def order_to_restore(number: str, token: str | None) -> Order:
    """The expired order a recovery link names; raise if the link is forged or too old.

    Raises RestoreLinkInvalid, RestoreLinkExpired, or OrderNotRestorable for an order that
    was paid after all.
    """
    max_age = current_app.config["RECOVERY_LINK_DAYS"] * 24 * 60 * 60
    try:
        signed_number = _serializer().loads(token or "", max_age=max_age)
    except SignatureExpired:
        raise RestoreLinkExpired(
            "This link has expired. Add the items to your cart from the shop instead."
        ) from None
    except BadSignature:
        raise RestoreLinkInvalid("This link is not valid.") from None
    order = find_order(number) if signed_number == number else None
    if order is None:
        raise RestoreLinkInvalid("This link is not valid.")
    _check_restorable(order)
    return order


def _check_restorable(order: Order) -> None:
    # A late payment can still confirm an expired order: its items are then on their way.
    if order.status != OrderStatus.EXPIRED:
        raise OrderNotRestorable(
            f"Order {order.number} is {OrderStatus(order.status).label.lower()}: "
            "its items cannot be put back in a cart."
        )


@dataclass(frozen=True)
class Restored:
    """What a restore did: the cart, the titles put back, those no longer for sale."""

    cart: Cart | None
    returned: list[str]
    unavailable: list[str]
    # The items were put back before, from this link: nothing was added this time.
    already: bool = False


def restore_order(order: Order, cart: Cart | None, user_id: int | None) -> Restored:
    """Put an expired order's items still for sale back in the cart, once; commit.

    A second restore adds nothing (whichever cart it lands in): the link is a way back to
    one abandoned checkout, not a coupon for copies of it.
    """
    try:
        # The order's lock queues up two restores of one link; the event decides.
        order = lock_order(order.id)
        _check_restorable(order)
        done = db.session.scalar(
            select(OrderEvent.id).where(
                OrderEvent.order_id == order.id, OrderEvent.kind == EventKind.RECOVERY
            )
        )
        if done is not None:
            db.session.commit()
            return Restored(cart, [], [], already=True)
        items, returned, unavailable = [], [], []
        for line in order.lines:
            if line.product_id is not None and catalog.product_for_sale(line.product_id):
                items.append((line.product_id, line.quantity))
                returned.append(line.title)
            else:
                unavailable.append(line.title)
        if items:
            cart = carts.put_back(cart, user_id, items)
            discount = order.pricing_context.discount
            if discount is not None and cart.discount_code is None:
                # The cart page checks the code again and says so if it no longer applies.
                cart.discount_code = discount.code
        order.record(
            EventKind.RECOVERY,
            f"Items put back in a cart from the recovery e-mail ({len(items)} of "
            f"{plural(len(order.lines), 'line')}).",
            actor="shopper",
            user_id=user_id,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return Restored(cart, returned, unavailable)
