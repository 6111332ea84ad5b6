"""The payment ledger's status tables: Checkout Session requests, payments and refunds.

Each table is the single source of the moves its rows may make, like the order's; a move the
table does not list raises InvalidTransition, and a move to the current status is a no-op.
"""

from enum import StrEnum
from typing import TypeVar

from checkout.domain.errors import InvalidTransition


class AttemptStatus(StrEnum):
    # Asked for; no answer yet, or the provider failed: "try again" resends the same request.
    CREATING = "creating"
    # The session exists and can be paid.
    OPEN = "open"
    # The shopper finished checkout on it.
    COMPLETE = "complete"
    # It can no longer be paid.
    EXPIRED = "expired"


class PaymentStatus(StrEnum):
    # Checkout completed with a delayed method (bank debit); the money is not there yet.
    PROCESSING = "processing"
    # The money was captured.
    SUCCEEDED = "succeeded"
    # The delayed method failed: no money moved.
    FAILED = "failed"
    # Some of the captured money is being or has been given back.
    PARTIALLY_REFUNDED = "partially_refunded"
    # All of the captured money is being or has been given back.
    REFUNDED = "refunded"


class RefundStatus(StrEnum):
    # Asked for (or about to be sent); the money has not reached the shopper yet.
    PENDING = "pending"
    # The provider says the money went back.
    SUCCEEDED = "succeeded"
    # The provider could not give the money back (a closed card, say): staff must act.
    FAILED = "failed"
    # Called off before it was made.
    CANCELED = "canceled"


class PaymentMethod(StrEnum):
    # Stripe Checkout: card (or a bank debit Stripe offers); the webhook confirms it.
    CARD = "card"
    # The shopper wires the money to the shop's account; staff record it when it lands.
    BANK_TRANSFER = "bank_transfer"


A, P, R = AttemptStatus, PaymentStatus, RefundStatus

ATTEMPT_TRANSITIONS: dict[AttemptStatus, frozenset[AttemptStatus]] = {
    A.CREATING: frozenset({A.OPEN, A.COMPLETE, A.EXPIRED}),
    A.OPEN: frozenset({A.COMPLETE, A.EXPIRED}),
    A.COMPLETE: frozenset(),
    # The provider's word wins: a session we gave up on (its expiry raced the shopper's
    # payment) may turn out to have been paid.
    A.EXPIRED: frozenset({A.COMPLETE}),
}

PAYMENT_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    P.PROCESSING: frozenset({P.SUCCEEDED, P.FAILED}),
    P.SUCCEEDED: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED}),
    P.FAILED: frozenset(),
    # A refund that fails after it looked made gives the money back to the payment.
    P.PARTIALLY_REFUNDED: frozenset({P.SUCCEEDED, P.REFUNDED}),
    P.REFUNDED: frozenset({P.SUCCEEDED, P.PARTIALLY_REFUNDED}),
}

REFUND_TRANSITIONS: dict[RefundStatus, frozenset[RefundStatus]] = {
    R.PENDING: frozenset({R.SUCCEEDED, R.FAILED, R.CANCELED}),
    # Card refunds can fail days after they were reported made (Stripe's refund.failed).
    R.SUCCEEDED: frozenset({R.FAILED}),
    R.FAILED: frozenset(),
    R.CANCELED: frozenset(),
}

# Refunds whose amount is promised back to the shopper and counts against the payment.
COUNTED_REFUND_STATUSES = frozenset({R.PENDING, R.SUCCEEDED})


S = TypeVar("S", bound=StrEnum)


def checked_move(table: dict[S, frozenset[S]], subject: str, current: S, new: S) -> bool:
    """Say whether `current` → `new` changes anything; raise if the table forbids it."""
    if new == current:
        return False
    if new not in table[current]:
        raise InvalidTransition(subject, current, new)
    return True


def refund_status_from_provider(status: str) -> RefundStatus:
    """Map a provider refund status onto ours (Stripe's requires_action still waits)."""
    return R.PENDING if status == "requires_action" else R(status)


def payment_status_for_refunded(amount: int, refunded: int) -> PaymentStatus:
    """The status a captured payment has with `refunded` of its `amount` given back."""
    if refunded <= 0:
        return P.SUCCEEDED
    return P.REFUNDED if refunded >= amount else P.PARTIALLY_REFUNDED


def refund_label(paid: int, refunded: int) -> str | None:
    """What an order shows once money went back: "Refunded", "Partially refunded", or None."""
    if refunded <= 0:
        return None
    return "Refunded" if paid and refunded >= paid else "Partially refunded"
