"""Orders: line and total snapshots, the status machine's timeline, and staff flags."""

import json
import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from checkout.db import UTCDateTime, now_utc
from checkout.domain.money import format_money
from checkout.domain.order_status import TRANSITIONS, OrderStatus
from checkout.domain.payment_status import PaymentMethod, checked_move
from checkout.domain.pricing import (
    PricingContext,
    context_from_dict,
)
from checkout.domain.shopper_timeline import ShopperEvent, shopper_words
from checkout.extensions import db

# Crockford-style alphabet: no I, L, O or U to misread over the phone.
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_order_number() -> str:
    """Return a short public order number such as "7KQ2-M9XD"."""
    chars = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


class Order(db.Model):
    __tablename__ = "order"
    __table_args__ = (
        *(
            CheckConstraint(f"{col} >= 0", name=f"{col}_not_negative")
            for col in ("subtotal", "discount", "shipping", "tax", "tax_included", "total")
        ),
        # The staff list's sorts and filters walk these (keyset pages: sort key, then id).
        Index("ix_order_created_at_id", "created_at", "id"),
        Index("ix_order_total_id", "total", "id"),
        Index("ix_order_status_created_at_id", "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True, default=new_order_number)
    # The hidden token of the checkout form that placed it: a second submit finds this order.
    checkout_token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[OrderStatus] = mapped_column(String(32), default=OrderStatus.PENDING_PAYMENT)
    # How the shopper chose to pay at checkout.
    payment_method: Mapped[PaymentMethod] = mapped_column(
        String(20), default=PaymentMethod.CARD, server_default=PaymentMethod.CARD.value
    )
    email: Mapped[str] = mapped_column(String(254))
    ship_name: Mapped[str] = mapped_column(String(120))
    ship_line1: Mapped[str] = mapped_column(String(200))
    ship_line2: Mapped[str] = mapped_column(String(200), default="")
    ship_city: Mapped[str] = mapped_column(String(120))
    ship_postal_code: Mapped[str] = mapped_column(String(20))
    ship_country: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int]
    discount: Mapped[int] = mapped_column(default=0)
    shipping: Mapped[int] = mapped_column(default=0)
    # Tax added on top of the prices: part of the total.
    tax: Mapped[int] = mapped_column(default=0)
    # Tax already inside the prices (PRICES_INCLUDE_TAX): shown on receipts, not added again.
    tax_included: Mapped[int] = mapped_column(default=0, server_default="0")
    total: Mapped[int]
    # The pricing context the totals were computed in (JSON): what the payment session repeats.
    pricing: Mapped[str | None] = mapped_column(Text)
    tracking_carrier: Mapped[str | None] = mapped_column(String(60))
    tracking_number: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    events: Mapped[list["OrderEvent"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderEvent.id"
    )
    flags: Mapped[list["OrderFlag"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderFlag.id"
    )

    @property
    def pricing_context(self) -> PricingContext:
        """The context the order was priced in (orders from before it was kept: the plain one)."""
        if self.pricing is None:
            return PricingContext(currency=self.currency)
        return context_from_dict(json.loads(self.pricing))

    @property
    def shopper_timeline(self) -> list[ShopperEvent]:
        """The timeline the shopper sees: status and money rows, in words meant for them."""
        seen = []
        for event in self.events:
            words = shopper_words(event.kind, event.text, from_status=event.from_status,
                                  to_status=event.to_status, actor=event.actor)
            if words is not None:
                seen.append(ShopperEvent(at=event.created_at, words=words))
        return seen

    @property
    def awaiting_payment(self) -> bool:
        """Is the shopper still expected to pay (resume, cancel, a new payment page)?"""
        return OrderStatus(self.status) == OrderStatus.PENDING_PAYMENT

    def transition_to(
        self, new: OrderStatus, *, actor: str, message: str = "", user_id: int | None = None
    ) -> bool:
        """Move to `new` and write the timeline row; return False when already there."""
        current = OrderStatus(self.status)
        if not checked_move(TRANSITIONS, f"order {self.number}", current, new):
            return False
        self.status = new
        self._add_event(
            OrderEvent(
                kind=EventKind.STATUS,
                actor=actor,
                actor_user_id=user_id,
                from_status=current,
                to_status=new,
                message=message or f"{current.label} → {new.label}",
            )
        )
        return True

    def _add_event(self, event: "OrderEvent") -> None:
        """Put a row on the timeline without reading the timeline first.

        Appending to an order's events that were never loaded would load every one of them
        (a SELECT per change on the webhook and checkout paths); the row is added beside
        them instead, and the timeline, when read, includes it.
        """
        state = inspect(self)
        if state.persistent and "events" in state.unloaded:
            event.order_id = self.id
            state.session.add(event)
        else:
            self.events.append(event)

    def record(
        self,
        kind: "EventKind",
        message: str,
        *,
        actor: str,
        user_id: int | None = None,
        amount: int | None = None,
    ) -> None:
        """Add a timeline row that is not a status change (payment, stock, flag…).

        An amount is kept as minor units in the order's currency; `{amount}` in the message
        is where it is shown.
        """
        self._add_event(
            OrderEvent(
                kind=kind,
                actor=actor,
                actor_user_id=user_id,
                message=message,
                amount=amount,
                currency=self.currency if amount is not None else None,
            )
        )

    def flag(self, code: "FlagCode", detail: str, *, actor: str) -> None:
        """Mark the order for staff review, once per open reason, on the timeline too."""
        if any(f.code == code and f.resolved_at is None for f in self.flags):
            return
        self.flags.append(OrderFlag(code=code, detail=detail))
        self.record(EventKind.FLAG, f"Flagged for staff review: {detail}", actor=actor)


class OrderLine(db.Model):
    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("line_total = unit_price * quantity", name="line_total_consistent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    # The product may be retired later; the snapshot below is what was sold.
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id", ondelete="SET NULL"))
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    unit_price: Mapped[int]
    quantity: Mapped[int]
    line_total: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="lines")


class EventKind(StrEnum):
    STATUS = "status"
    PAYMENT = "payment"
    STOCK = "stock"
    FLAG = "flag"
    # The shopper put an expired order's items back in a cart from the recovery e-mail.
    RECOVERY = "recovery"
    # An internal note by staff: on the staff timeline only, never shown to the shopper.
    NOTE = "note"


class OrderEvent(db.Model):
    """The timeline: who did what to the order, and when."""

    __tablename__ = "order_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    actor: Mapped[str] = mapped_column(String(254))
    # The account that acted, for the audit trail (None: the shop, Stripe, or a guest).
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[EventKind] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    amount: Mapped[int | None]
    currency: Mapped[str | None] = mapped_column(String(3))

    order: Mapped[Order] = relationship(back_populates="events")

    @property
    def text(self) -> str:
        """The message for people, with its amount formatted where `{amount}` stands."""
        if self.amount is None:
            return self.message
        return self.message.replace("{amount}", format_money(self.amount, self.currency))


class FlagCode(StrEnum):
    # Paid after its hold lapsed, and the stock was gone by then.
    STOCK_SHORTAGE = "stock_shortage"
    # A payment event did not match the order (session, amount or currency).
    PAYMENT_MISMATCH = "payment_mismatch"
    # Money arrived for an order that was already cancelled.
    PAYMENT_FOR_CLOSED_ORDER = "payment_for_closed_order"
    # A second payment arrived for an order that was already paid: refund one.
    DUPLICATE_PAYMENT = "duplicate_payment"
    # A refund failed at the provider: the shopper has not got their money back.
    REFUND_FAILED = "refund_failed"
    # Paid late at a discount whose code had no use left for it: honoured, not counted.
    DISCOUNT_OVER_LIMIT = "discount_over_limit"
    # The cardholder disputed the payment with their bank: answer it before its deadline.
    DISPUTED = "disputed"

    @property
    def label(self) -> str:
        return _FLAG_LABELS[self]


_FLAG_LABELS = {
    FlagCode.STOCK_SHORTAGE: "Stock shortage",
    FlagCode.PAYMENT_MISMATCH: "Payment mismatch (amount, currency or session)",
    FlagCode.PAYMENT_FOR_CLOSED_ORDER: "Paid after it was closed",
    FlagCode.DUPLICATE_PAYMENT: "Paid twice",
    FlagCode.REFUND_FAILED: "Refund failed",
    FlagCode.DISCOUNT_OVER_LIMIT: "Discount over its use limit",
    FlagCode.DISPUTED: "Dispute",
}


class OrderFlag(db.Model):
    __tablename__ = "order_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    code: Mapped[FlagCode] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who resolved it (a staff member's e-mail and account) and what they did about it.
    resolved_by: Mapped[str | None] = mapped_column(String(254))
    resolved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolution: Mapped[str | None] = mapped_column(Text)

    order: Mapped[Order] = relationship(back_populates="flags")
