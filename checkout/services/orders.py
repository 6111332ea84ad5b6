"""Finding orders, locking them, and deciding who may see them: the leaf of the services."""

import hmac

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Order


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


def lock_order(order_id: int) -> Order:
    """Load the order afresh and lock its row until commit (SQLite: the write lock already is).

    Every change to an order's payment or stock takes this lock first, so the success page,
    the webhook, the sweeper and a second tab queue up instead of interleaving.
    """
    return db.session.execute(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
