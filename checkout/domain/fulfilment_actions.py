"""What staff can do to an order from each status: the order status machine decides.

Each action that moves the order names the status it moves to; it is allowed exactly when
`TRANSITIONS` allows that move, except where a business rule below narrows it.
"""

from enum import StrEnum

from checkout.domain.order_status import OrderStatus, can_transition


class StaffAction(StrEnum):
    # Accept a paid order for packing.
    FULFIL = "fulfil"
    # Hand it to the carrier with a tracking number.
    SHIP = "ship"
    # The carrier reports it arrived.
    DELIVER = "deliver"
    # Call it off: an unpaid one's session is expired, a paid one is refunded in full.
    CANCEL = "cancel"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    StaffAction.FULFIL: "Start fulfilment",
    StaffAction.SHIP: "Ship",
    StaffAction.DELIVER: "Mark delivered",
    StaffAction.CANCEL: "Cancel order",
}

TARGETS: dict[StaffAction, OrderStatus] = {
    StaffAction.FULFIL: OrderStatus.AWAITING_SHIPMENT,
    StaffAction.SHIP: OrderStatus.SHIPPED,
    StaffAction.DELIVER: OrderStatus.DELIVERED,
    StaffAction.CANCEL: OrderStatus.CANCELLED,
}

# The machine lets a bank debit in flight be cancelled (the provider's own failure path), but
# staff may not: the session is complete, so it cannot be expired, and the money is neither
# here to refund nor sure not to arrive. Staff wait for it to settle or fail, then act.
_STAFF_MAY_NOT = {StaffAction.CANCEL: frozenset({OrderStatus.PAYMENT_PROCESSING})}


def allowed(action: StaffAction, status: OrderStatus) -> bool:
    """Say whether staff may take `action` on an order in `status`."""
    if status in _STAFF_MAY_NOT.get(action, frozenset()):
        return False
    return can_transition(status, TARGETS[action])


def needs_admin(action: StaffAction, status: OrderStatus) -> bool:
    """Say whether only an admin may take `action` from `status`: cancelling a paid order
    refunds it, and refunds are an admin's."""
    return action == StaffAction.CANCEL and status != OrderStatus.PENDING_PAYMENT


def available(status: OrderStatus) -> list[StaffAction]:
    """The actions to offer on an order in `status`, in the order of the workflow."""
    return [action for action in StaffAction if allowed(action, status)]
