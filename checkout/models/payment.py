"""The payment ledger: Checkout Session requests, payments, refunds, and the webhook events seen.

Every status here moves only through its table in `domain.payment_status`.
"""

import json
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from checkout.db import UTCDateTime, now_utc
from checkout.domain.payment_status import (
    ATTEMPT_TRANSITIONS,
    PAYMENT_TRANSITIONS,
    REFUND_TRANSITIONS,
    AttemptStatus,
    PaymentStatus,
    RefundStatus,
    checked_move,
)
from checkout.extensions import db


class CheckoutAttempt(db.Model):
    """One Checkout Session request for an order, with the exact parameters and key used."""

    __tablename__ = "checkout_attempt"
    __table_args__ = (UniqueConstraint("order_id", "number", name="uq_checkout_attempt_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    number: Mapped[int]
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    # The request as sent, so a retry sends the very same parameters with the same key.
    params: Mapped[str] = mapped_column(Text)
    status: Mapped[AttemptStatus] = mapped_column(String(16), default=AttemptStatus.CREATING)
    session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    url: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    @property
    def request(self) -> dict:
        """The Checkout Session parameters as they were (and will again be) sent."""
        return json.loads(self.params)

    @property
    def is_live(self) -> bool:
        """Could this request still yield, or has it yielded, a payable session?"""
        return AttemptStatus(self.status) in (AttemptStatus.CREATING, AttemptStatus.OPEN)

    def move_to(self, new: AttemptStatus) -> bool:
        """Change status through the table; a closed session has no payment page any more."""
        moved = checked_move(
            ATTEMPT_TRANSITIONS, f"checkout attempt {self.idempotency_key}",
            AttemptStatus(self.status), new,
        )
        self.status = new
        if new != AttemptStatus.OPEN:
            self.url = None
        return moved


class Payment(db.Model):
    """Money a Checkout Session captured (or is capturing) for an order."""

    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        # Pending and succeeded refunds count: the database refuses to promise back more
        # than was captured, whatever two staff members click at once.
        CheckConstraint(
            "amount_refunded >= 0 AND amount_refunded <= amount", name="refund_within_amount"
        ),
        # The staff list's payment filters and states ask "has this order a payment in this
        # state?": without it PostgreSQL answers by reading every payment once per page.
        Index("ix_payment_status_order_id", "status", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    # The method marker: "stripe" (a Checkout Session) or "bank_transfer" (recorded by staff).
    provider: Mapped[str] = mapped_column(String(20), default="stripe")
    # None for a bank transfer: no session was ever made for it.
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # The bank's reference for a transfer, as staff read it off the statement.
    reference: Mapped[str | None] = mapped_column(String(80))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(String(24))
    amount_refunded: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    def move_to(self, new: PaymentStatus) -> bool:
        """Change status through the payment table."""
        moved = checked_move(
            PAYMENT_TRANSITIONS, f"payment {self.checkout_session_id or self.id}",
            PaymentStatus(self.status), new,
        )
        self.status = new
        return moved


class RefundReason(StrEnum):
    # Paid after its hold lapsed and the stock was gone: LATE_PAYMENT_POLICY=refund.
    LATE_PAYMENT_OUT_OF_STOCK = "late_payment_out_of_stock"
    # The shopper asked for their money back.
    REQUESTED_BY_CUSTOMER = "requested_by_customer"
    # The order was paid twice.
    DUPLICATE = "duplicate"
    # Staff cancelled a paid order: everything captured goes back.
    ORDER_CANCELLED = "order_cancelled"
    # Made outside the shop (the provider's dashboard); the reason is not ours to know.
    EXTERNAL = "external"
    # Staff reasons (the refund form): the goods arrived damaged or faulty.
    DAMAGED = "damaged"
    # The parcel never arrived.
    NOT_RECEIVED = "not_received"
    # The shop sent the wrong item.
    WRONG_ITEM = "wrong_item"
    # Money given back as a gesture, nothing wrong with the order.
    GOODWILL = "goodwill"
    # None of the above: the refund's note says why.
    OTHER = "other"


class Refund(db.Model):
    """Money given back on a payment: asked for by the shop, or found made at the provider."""

    __tablename__ = "refund"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[RefundReason] = mapped_column(String(40))
    status: Mapped[RefundStatus] = mapped_column(String(16), default=RefundStatus.PENDING)
    # One key per refund request: sending it again can never refund twice.
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    # None until the provider answered (a refund asked for while it was unreachable).
    provider_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    failure_reason: Mapped[str | None] = mapped_column(String(120))
    # A refund of a bank transfer is a transfer back made by staff: its bank reference, set
    # when staff record that they sent it (such a refund never has a provider id).
    bank_reference: Mapped[str | None] = mapped_column(String(80))
    # Staff's own words on why, beside the reason's code.
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Who asked: an actor name ("system", "stripe", a staff member's e-mail) and their account.
    requested_by: Mapped[str] = mapped_column(String(254))
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    def move_to(self, new: RefundStatus) -> bool:
        """Change status through the refund table."""
        moved = checked_move(
            REFUND_TRANSITIONS, f"refund {self.provider_refund_id or self.idempotency_key}",
            RefundStatus(self.status), new,
        )
        self.status = new
        return moved


class WebhookEvent(db.Model):
    """Every Stripe event received: handled with its effects, or FAILED and waiting for a retry."""

    __tablename__ = "webhook_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str | None] = mapped_column(String(255), index=True)
    outcome: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    stripe_created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The verified body as received (JSON), so staff can read it and replay a failed event.
    payload: Mapped[str | None] = mapped_column(Text)
    # The staff member who last ran a failed event again from the webhook log, and when.
    replayed_by: Mapped[str | None] = mapped_column(String(254))
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
