"""The order status machine: every status, and the moves allowed between them."""

from enum import StrEnum


class OrderStatus(StrEnum):
    # Placed; stock is held while the shopper pays on Stripe Checkout.
    PENDING_PAYMENT = "pending_payment"
    # Checkout completed with a delayed method (bank debit); stock stays held until it settles.
    PAYMENT_PROCESSING = "payment_processing"
    # Money received; the held stock became a firm reservation.
    PAYMENT_CONFIRMED = "payment_confirmed"
    # Staff accepted the paid order for packing.
    AWAITING_SHIPMENT = "awaiting_shipment"
    # Handed to the carrier; tracking is known.
    SHIPPED = "shipped"
    # The carrier reports it arrived.
    DELIVERED = "delivered"
    # Never paid before the payment session and the stock hold ran out.
    EXPIRED = "expired"
    # Called off by the shopper before payment or by staff; stock went back.
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    OrderStatus.PENDING_PAYMENT: "Awaiting payment",
    OrderStatus.PAYMENT_PROCESSING: "Payment processing",
    OrderStatus.PAYMENT_CONFIRMED: "Payment confirmed",
    OrderStatus.AWAITING_SHIPMENT: "Preparing for shipment",
    OrderStatus.SHIPPED: "Shipped",
    OrderStatus.DELIVERED: "Delivered",
    OrderStatus.EXPIRED: "Expired",
    OrderStatus.CANCELLED: "Cancelled",
}

S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset(
        {S.PAYMENT_PROCESSING, S.PAYMENT_CONFIRMED, S.EXPIRED, S.CANCELLED}
    ),
    # A failed bank debit sends the order back to be paid another way while its hold lasts.
    S.PAYMENT_PROCESSING: frozenset({S.PAYMENT_CONFIRMED, S.PENDING_PAYMENT, S.CANCELLED}),
    S.PAYMENT_CONFIRMED: frozenset({S.AWAITING_SHIPMENT, S.CANCELLED}),
    S.AWAITING_SHIPMENT: frozenset({S.SHIPPED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    # A payment can land after its session lapsed (Stripe gives no ordering guarantee):
    # the money is real, so the order becomes paid and the late-payment policy decides the rest.
    S.EXPIRED: frozenset({S.PAYMENT_PROCESSING, S.PAYMENT_CONFIRMED}),
    S.CANCELLED: frozenset(),
}

# Statuses in which the shopper owes nothing more and stock is firmly reserved or gone.
PAID_STATUSES = frozenset({S.PAYMENT_CONFIRMED, S.AWAITING_SHIPMENT, S.SHIPPED, S.DELIVERED})
# No money has arrived: a payment landing now is applied (an expired order revives).
UNPAID_STATUSES = frozenset({S.PENDING_PAYMENT, S.EXPIRED})


def can_transition(current: OrderStatus, new: OrderStatus) -> bool:
    """Say whether the machine allows moving from `current` to `new`."""
    return new in TRANSITIONS[current]
