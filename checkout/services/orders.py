"""Finding orders, locking them, and deciding who may see them: the leaf of the services."""

import hmac

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import bindparam, select

from checkout.extensions import db
from checkout.models import Order

ORDER_LINK_SALT = "order-access"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=ORDER_LINK_SALT)


def _max_age() -> int:
    return current_app.config["ORDER_LINK_DAYS"] * 24 * 60 * 60


def access_token(order: Order) -> str:
    """The signed, dated token in a guest's order link: bound to this order number."""
    return _serializer().dumps(order.number)


def _names(number: object, order: Order) -> bool:
    return isinstance(number, str) and hmac.compare_digest(number, order.number)


def may_view(order: Order, token: str | None, user) -> bool:
    """Allow the owner, staff, or whoever holds the order's signed link while it is valid."""
    if getattr(user, "is_authenticated", False) and (
        getattr(user, "is_staff", False) or order.user_id == user.id
    ):
        return True
    if not token:
        return False
    try:
        number = _serializer().loads(token, max_age=_max_age())
    except BadSignature:
        return False
    return _names(number, order)


def link_expired(order: Order, token: str | None) -> bool:
    """Say whether `token` is this order's genuine link, only too old (ORDER_LINK_DAYS).

    Links made before links had a lifetime carry no date: they count as expired, so every
    link in an old e-mail asks for a fresh one instead of opening the order forever.
    """
    if not token:
        return False
    serializer = _serializer()
    try:
        serializer.loads(token, max_age=_max_age())
        return False
    except SignatureExpired as exc:
        try:
            return _names(serializer.load_payload(exc.payload), order)
        except BadSignature:
            return False
    except BadSignature:
        pass
    try:
        undated = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=ORDER_LINK_SALT)
        return _names(undated.loads(token), order)
    except BadSignature:
        return False


# Built once (services/catalog.py says why): every order page starts with it.
_ORDER_BY_NUMBER = select(Order).where(Order.number == bindparam("number"))


def find_order(number: str) -> Order | None:
    """The order with this public number, if any."""
    return db.session.scalar(_ORDER_BY_NUMBER, {"number": number})


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
