"""Who may see an order, and the upkeep of unpaid ones."""

import hmac
import logging

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from checkout.domain.errors import DomainError
from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import Order
from checkout.services import fulfilment, inventory

log = logging.getLogger(__name__)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="order-access")


def access_token(order: Order) -> str:
    """The signed token in a guest's order link: unguessable, bound to this order number."""
    return _serializer().dumps(order.number)


def may_view(order: Order, token: str | None, user) -> bool:
    """Allow the owner, staff, or whoever holds the order's signed link."""
    if getattr(user, "is_authenticated", False) and (
        getattr(user, "is_staff", False) or order.user_id == user.id
    ):
        return True
    if not token:
        return False
    try:
        number = _serializer().loads(token)
    except BadSignature:
        return False
    return isinstance(number, str) and hmac.compare_digest(number, order.number)


def find_order(number: str) -> Order | None:
    """The order with this public number, if any."""
    return db.session.scalar(select(Order).where(Order.number == number))


def orders_of(user_id: int) -> list[Order]:
    """A shopper's orders, newest first."""
    return list(
        db.session.scalars(
            select(Order).where(Order.user_id == user_id).order_by(Order.created_at.desc())
        )
    )


def expire_lapsed_holds() -> int:
    """Expire unpaid orders whose hold ran out (the webhook normally does it first).

    Each session is expired at Stripe before its stock is released, so nobody can pay for
    stock that went back on sale; a session found paid is applied instead.
    """
    from checkout.services.checkout import attempts_of, expire_open_sessions

    expired = 0
    for order_id in inventory.lapsed_hold_order_ids():
        order = db.session.get(Order, order_id)
        if OrderStatus(order.status) != OrderStatus.PENDING_PAYMENT:
            continue
        try:
            expire_open_sessions(order, attempts_of(order))
            outcome = fulfilment.expire(order, None, actor="system")
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            log.info("order %s not expired: %s", order.number, exc)
            continue
        expired += outcome == "expired"
    return expired
