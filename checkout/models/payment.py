"""Payments received, the Checkout Sessions asked for, and the webhook events seen."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from checkout.db import UTCDateTime, now_utc
from checkout.extensions import db


class AttemptStatus(StrEnum):
    # Asked for; no answer yet, or the provider failed: "try again" resends the same request.
    CREATING = "creating"
    # The session exists and can be paid.
    OPEN = "open"
    # The shopper finished checkout on it.
    COMPLETE = "complete"
    # It can no longer be paid.
    EXPIRED = "expired"


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


class PaymentStatus(StrEnum):
    # Checkout completed with a delayed method; the money is not there yet.
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class Payment(db.Model):
    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint(
            "amount_refunded >= 0 AND amount_refunded <= amount", name="refund_within_amount"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20), default="stripe")
    checkout_session_id: Mapped[str] = mapped_column(String(255), unique=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(String(24))
    amount_refunded: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)


class WebhookEvent(db.Model):
    """Every Stripe event handled, stored with its effects so each has exactly one."""

    __tablename__ = "webhook_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str | None] = mapped_column(String(255), index=True)
    outcome: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    stripe_created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
