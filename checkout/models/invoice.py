"""Invoices and credit notes: numbered, immutable snapshots of what was sold and given back."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from checkout.db import UTCDateTime, now_utc
from checkout.extensions import db


class DocumentSequence(db.Model):
    """The next number of one series in one year; its row lock is what makes numbers gap-free."""

    __tablename__ = "document_sequence"
    __table_args__ = (CheckConstraint("next_number >= 1", name="next_number_positive"),)

    series: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    next_number: Mapped[int] = mapped_column(default=1)


class Invoice(db.Model):
    """The invoice of a paid order: seller, buyer, lines and totals copied when it was paid."""

    __tablename__ = "invoice"
    __table_args__ = tuple(
        CheckConstraint(f"{col} >= 0", name=f"{col}_not_negative")
        for col in ("subtotal", "discount", "shipping", "tax", "tax_included", "total")
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), unique=True)
    # The payment it invoices: a refund of any other payment (a duplicate) credits nothing here.
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    seller_name: Mapped[str] = mapped_column(String(200))
    seller_address: Mapped[str] = mapped_column(Text, default="")
    seller_tax_id: Mapped[str] = mapped_column(String(64), default="")
    buyer_email: Mapped[str] = mapped_column(String(254))
    buyer_name: Mapped[str] = mapped_column(String(120))
    buyer_line1: Mapped[str] = mapped_column(String(200))
    buyer_line2: Mapped[str] = mapped_column(String(200), default="")
    buyer_city: Mapped[str] = mapped_column(String(120))
    buyer_postal_code: Mapped[str] = mapped_column(String(20))
    buyer_country: Mapped[str] = mapped_column(String(2))
    order_number: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int]
    discount: Mapped[int]
    shipping: Mapped[int]
    tax: Mapped[int]
    # Tax inside the prices, and the name of its rate ("VAT"): shown, not added to the total.
    tax_included: Mapped[int] = mapped_column(default=0, server_default="0")
    tax_included_name: Mapped[str] = mapped_column(String(60), default="", server_default="")
    total: Mapped[int]

    lines: Mapped[list["InvoiceLine"]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.id"
    )
    credit_notes: Mapped[list["CreditNote"]] = relationship(
        back_populates="invoice", order_by="CreditNote.id"
    )


class InvoiceLine(db.Model):
    __tablename__ = "invoice_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("line_total = unit_price * quantity", name="line_total_consistent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoice.id", ondelete="CASCADE"), index=True
    )
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    unit_price: Mapped[int]
    quantity: Mapped[int]
    line_total: Mapped[int]

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class CreditNote(db.Model):
    """Money given back against an invoice: one per refund that succeeded."""

    __tablename__ = "credit_note"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refund.id"), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(200))

    invoice: Mapped[Invoice] = relationship(back_populates="credit_notes")
    refund: Mapped["Refund"] = relationship()  # noqa: F821 - models/payment.py

    @property
    def refund_failed_at(self) -> datetime | None:
        """When the refund this note credits failed after all, or None while it stands.

        The note keeps its number and stays issued (a numbered document is never withdrawn);
        the page and PDF say the money never went back.
        """
        if self.refund.status in ("failed", "canceled"):
            return self.refund.updated_at
        return None
