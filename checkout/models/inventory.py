"""Stock per SKU, the holds checkout places on it, and the ledger of every change."""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from checkout.db import UTCDateTime, now_utc
from checkout.extensions import db

if TYPE_CHECKING:
    from checkout.models.catalog import Product


class Stock(db.Model):
    """on_hand: units in the building; held: units promised to unpaid checkouts."""

    __tablename__ = "stock"
    # The database itself refuses an oversell, whatever a bug in the code tries.
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("held >= 0", name="held_not_negative"),
        CheckConstraint("held <= on_hand", name="held_within_on_hand"),
    )

    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    held: Mapped[int] = mapped_column(default=0)

    product: Mapped["Product"] = relationship(back_populates="stock")

    @property
    def available(self) -> int:
        return self.on_hand - self.held


class HoldStatus(StrEnum):
    # Counted in Stock.held until it expires or the order is paid.
    ACTIVE = "active"
    # Paid: on_hand and held were decremented together.
    CONVERTED = "converted"
    # Given back: the order expired or was cancelled.
    RELEASED = "released"


class StockHold(db.Model):
    __tablename__ = "stock_hold"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[int]
    status: Mapped[HoldStatus] = mapped_column(String(16), default=HoldStatus.ACTIVE)
    # None while a delayed payment settles: the hold lasts until it does.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class MovementReason(StrEnum):
    # A paid order took the units.
    SALE = "sale"
    # Units arrived (the demo catalog's opening stock, too).
    RESTOCK = "restock"
    # A staff member corrected the count by hand; the note says why.
    ADJUSTMENT = "adjustment"
    # A cancelled or refunded order put its units back.
    RETURN = "return"


class StockMovement(db.Model):
    """One row for every change of on_hand: the stock ledger."""

    __tablename__ = "stock_movement"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    delta: Mapped[int]
    reason: Mapped[MovementReason] = mapped_column(String(16))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id"))
    note: Mapped[str] = mapped_column(String(200), default="")
    # The staff member who made the change by hand; None for the shop's own moves (a sale).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
