"""A shopper's orders as "My orders" lists them: status, tracking, and what was refunded."""

from dataclasses import dataclass

from sqlalchemy import case, func, select

from checkout.domain.payment_status import RefundStatus, refund_label
from checkout.extensions import db
from checkout.models import Order, Refund
from checkout.services.orders import orders_of


@dataclass(frozen=True)
class OrderSummary:
    order: Order
    # Money that reached the shopper, and money on its way back (asked for, not yet confirmed).
    refunded: int
    refund_pending: int

    @property
    def refund_label(self) -> str | None:
        """"Refunded" once all of it came back, "Partially refunded" for some, else None."""
        return refund_label(self.order.total, self.refunded)


def order_history(user_id: int) -> list[OrderSummary]:
    """The shopper's orders, newest first, each with its refunds summed (two queries)."""
    orders = orders_of(user_id)
    sums = {
        order_id: (refunded, pending)
        for order_id, refunded, pending in db.session.execute(
            select(
                Refund.order_id,
                func.sum(case((Refund.status == RefundStatus.SUCCEEDED, Refund.amount), else_=0)),
                func.sum(case((Refund.status == RefundStatus.PENDING, Refund.amount), else_=0)),
            )
            .join(Order, Order.id == Refund.order_id)
            .where(Order.user_id == user_id)
            .group_by(Refund.order_id)
        )
    }
    return [OrderSummary(order, *sums.get(order.id, (0, 0))) for order in orders]
