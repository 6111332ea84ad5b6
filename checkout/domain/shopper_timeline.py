"""The shopper's timeline: which order events they see, and in what words.

The staff timeline keeps every row as recorded. Shoppers see the status changes and the money
(payments, refunds) in words meant for them; stock holds, payment pages, flags, cart recovery
and internal notes are the shop's bookkeeping and stay on the staff page.
"""

from dataclasses import dataclass
from datetime import datetime

from checkout.domain.order_status import PAID_STATUSES, OrderStatus

# Recorded each time a Stripe Checkout page is made for the order (payment_sessions).
PAYMENT_PAGE_OPENED = "Payment page opened on Stripe Checkout."
# Kinds a shopper sees; the others (stock, flag, recovery, note) never reach their page.
SHOPPER_KINDS = frozenset({"status", "payment"})

S = OrderStatus
_STATUS_WORDS = {
    S.PENDING_PAYMENT: "Your payment did not go through; the order is waiting for another "
                       "payment.",
    S.PAYMENT_PROCESSING: "Your payment is processing: bank payments can take a few days to "
                          "settle.",
    S.PAYMENT_CONFIRMED: "Payment confirmed.",
    S.AWAITING_SHIPMENT: "We are packing your order.",
    S.SHIPPED: "Your order is on its way.",
    S.DELIVERED: "Delivered.",
    S.EXPIRED: "Not paid in time, so the order was closed.",
}


@dataclass(frozen=True)
class ShopperEvent:
    at: datetime
    words: str


def plural(count: int, one: str, many: str | None = None) -> str:
    """`1 unit`, `2 units`: the count with its noun in the right number."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _cancel_words(from_status: str | None, actor: str, message: str) -> str:
    if actor == "shopper":
        return "You cancelled the order."
    if from_status is not None and OrderStatus(from_status) in PAID_STATUSES:
        return "The shop cancelled the order; your payment is refunded in full."
    if message.startswith("Cancelled: out of stock"):
        return "Cancelled: the items sold out before your payment arrived; it is refunded."
    return "The order was cancelled."


def shopper_words(kind: str, text: str, *, from_status: str | None, to_status: str | None,
                  actor: str) -> str | None:
    """What the shopper reads for one timeline row, or None for a row they do not see."""
    if kind not in SHOPPER_KINDS or text == PAYMENT_PAGE_OPENED:
        return None
    if kind == "payment" or to_status is None:
        # Money rows and the "order placed" row are already written for the shopper.
        return text
    status = OrderStatus(to_status)
    if status == S.CANCELLED:
        return _cancel_words(from_status, actor, text)
    if status == S.SHIPPED and text.startswith("Shipped with "):
        return text  # the carrier and tracking number, as staff recorded them
    return _STATUS_WORDS[status]
