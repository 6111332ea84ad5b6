"""The outbox's status table: a message waits, is sent once, or is given up on."""

from enum import StrEnum

from checkout.domain.payment_status import checked_move


class MessageStatus(StrEnum):
    # Written with the change that caused it; a worker sends it when due (again after a failure).
    PENDING = "pending"
    # The mail server took it.
    SENT = "sent"
    # Every attempt failed: staff must look at last_error.
    FAILED = "failed"
    # No longer true when its turn came (a payment reminder for an order paid meanwhile):
    # never sent; last_error says why.
    SKIPPED = "skipped"


M = MessageStatus

MESSAGE_TRANSITIONS: dict[MessageStatus, frozenset[MessageStatus]] = {
    M.PENDING: frozenset({M.SENT, M.FAILED, M.SKIPPED}),
    M.SENT: frozenset(),
    M.FAILED: frozenset(),
    M.SKIPPED: frozenset(),
}

# Attempts before a message is given up on, and the wait before each retry (doubling, capped).
MAX_ATTEMPTS = 8
FIRST_RETRY_SECONDS = 60
LONGEST_RETRY_SECONDS = 6 * 60 * 60


def retry_delay_seconds(attempts: int) -> int:
    """The back-off after the `attempts`-th failed attempt: 1, 2, 4 … minutes, at most 6 h."""
    return min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_RETRY_SECONDS)


def move_message(key: str, current: MessageStatus, new: MessageStatus) -> bool:
    """Say whether the move changes anything; raise InvalidTransition if the table forbids it."""
    return checked_move(MESSAGE_TRANSITIONS, f"message {key}", current, new)
