"""Orders a shopper left waiting for payment: the cart, checkout and catalog remind them."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select

from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import Order, StockHold
from checkout.models.inventory import HoldStatus

# The most order numbers a browser's session is asked about (it keeps no more).
MAX_NUMBERS = 20


@dataclass
class WaitingOrder:
    """An order waiting for this shopper's payment, and the units its hold keeps for them."""

    order: Order
    # product id → units held for this order
    held: dict[int, int] = field(default_factory=dict)


def waiting_orders(numbers: Sequence[str], user_id: int | None) -> list[WaitingOrder]:
    """This browser's guest orders (`numbers`) and this account's waiting for payment, newest first.

    One query, whatever the number of orders and products: the pages that show these call it
    once per request.
    """
    wanted = [n for n in numbers if isinstance(n, str)][-MAX_NUMBERS:]
    whose = []
    if wanted:
        # A browser's list may name orders placed while signed in: those are the account's,
        # shown only while it is signed in, never to whoever uses the browser after sign-out.
        whose.append(and_(Order.number.in_(wanted), Order.user_id.is_(None)))
    if user_id is not None:
        whose.append(Order.user_id == user_id)
    if not whose:
        return []
    rows = db.session.execute(
        select(Order, StockHold.product_id, StockHold.quantity)
        .outerjoin(StockHold, and_(StockHold.order_id == Order.id,
                                   StockHold.status == HoldStatus.ACTIVE))
        .where(Order.status == OrderStatus.PENDING_PAYMENT, or_(*whose))
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    found: dict[int, WaitingOrder] = {}
    for order, product_id, quantity in rows:
        waiting = found.setdefault(order.id, WaitingOrder(order))
        if product_id is not None:
            waiting.held[product_id] = waiting.held.get(product_id, 0) + quantity
    return list(found.values())
