"""The figures and queues on the back office's front page."""

from dataclasses import dataclass

from sqlalchemy import func, select

from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import Order, OrderFlag

TO_SHIP = (OrderStatus.PAYMENT_CONFIRMED, OrderStatus.AWAITING_SHIPMENT)
PAYMENT_PENDING = (OrderStatus.PENDING_PAYMENT, OrderStatus.PAYMENT_PROCESSING)


@dataclass(frozen=True)
class Overview:
    to_ship: int
    payment_pending: int
    flagged: int


def _orders_in(statuses: tuple[OrderStatus, ...]) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Order).where(Order.status.in_(statuses))
    )


def overview() -> Overview:
    """Count the orders waiting for staff: to ship, waiting for payment, flagged."""
    flagged = db.session.scalar(
        select(func.count(func.distinct(OrderFlag.order_id))).where(
            OrderFlag.resolved_at.is_(None)
        )
    )
    return Overview(
        to_ship=_orders_in(TO_SHIP),
        payment_pending=_orders_in(PAYMENT_PENDING),
        flagged=flagged,
    )
