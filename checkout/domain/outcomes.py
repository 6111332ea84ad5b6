"""What handling one payment event did: stored with each webhook event, and a metric label."""

from enum import StrEnum


class Outcome(StrEnum):
    # Claimed, not yet handled (only ever seen inside the handling transaction).
    RECEIVED = "received"
    # Handling raised: rolled back, the error stored, staff alerted; a redelivery or a staff
    # replay runs the handler again.
    FAILED = "failed"
    # The event id was handled before: nothing happened again.
    DUPLICATE = "duplicate"
    # A type the shop does not act on.
    IGNORED = "ignored"
    # No order of ours matches the event's object.
    UNMATCHED = "unmatched"
    # Something did not add up (session, amount, currency, payment): staff were told.
    FLAGGED = "flagged"
    # The session is not complete yet: nothing to apply.
    NOT_COMPLETE = "not_complete"
    # The order is paid and its stock reserved.
    CONFIRMED = "confirmed"
    # Checkout finished with a delayed method; the money is on its way.
    PROCESSING = "processing"
    # A delayed payment failed.
    PAYMENT_FAILED = "payment_failed"
    # Older than what the order already knows: nothing to do.
    STALE = "stale"
    # A session we closed ourselves (cancel or resume): the order lives on.
    SESSION_CLOSED = "session_closed"
    # The session lapsed, but a newer one is still payable.
    SUPERSEDED = "superseded"
    # Not paid in time: the order expired and its stock went back.
    EXPIRED = "expired"
    # A refund was recorded or its status moved.
    REFUND_UPDATED = "refund_updated"
    # A refund started outside the shop (the provider's dashboard) was recorded.
    REFUND_RECORDED = "refund_recorded"
