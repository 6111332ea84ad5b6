"""What prices an order beyond its lines: discount codes and their uses, shipping methods, tax."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from checkout.db import UTCDateTime, now_utc
from checkout.extensions import db


class DiscountCode(db.Model):
    """A code a shopper types on the cart page: a percentage (maybe capped) or an amount off."""

    __tablename__ = "discount_code"
    __table_args__ = (
        CheckConstraint(
            "(percent_off IS NULL) <> (amount_off IS NULL)", name="one_kind_of_discount"
        ),
        CheckConstraint("amount_off IS NULL OR amount_off > 0", name="amount_off_positive"),
        CheckConstraint("cap IS NULL OR cap > 0", name="cap_positive"),
        CheckConstraint("min_subtotal >= 0", name="min_subtotal_not_negative"),
        CheckConstraint("uses >= 0", name="uses_not_negative"),
        # The conditional UPDATE that counts a use keeps this true; the database holds it too.
        CheckConstraint("max_uses IS NULL OR uses <= max_uses", name="uses_within_max"),
        CheckConstraint("max_uses IS NULL OR max_uses > 0", name="max_uses_positive"),
        CheckConstraint(
            "max_uses_per_customer IS NULL OR max_uses_per_customer > 0",
            name="max_uses_per_customer_positive",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored upper-case: codes are case-insensitive, and unique as the shopper types them.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    # A decimal string ("12.5"), so no float ever touches a percentage.
    percent_off: Mapped[str | None] = mapped_column(String(12))
    # Minor units of the store currency.
    amount_off: Mapped[int | None]
    # The most a percentage may take off, in minor units.
    cap: Mapped[int | None]
    min_subtotal: Mapped[int] = mapped_column(default=0)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    max_uses: Mapped[int | None]
    max_uses_per_customer: Mapped[int | None]
    # Orders placed with it and neither expired nor cancelled.
    uses: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class DiscountRedemption(db.Model):
    """One use of a code by one order; deleted when the order expires or is cancelled."""

    __tablename__ = "discount_redemption"

    id: Mapped[int] = mapped_column(primary_key=True)
    discount_code_id: Mapped[int] = mapped_column(ForeignKey("discount_code.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), unique=True)
    # Lower-cased, so "uses per customer" does not depend on how the address was typed.
    email: Mapped[str] = mapped_column(String(254), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class ShippingOption(db.Model):
    """A shipping method shoppers choose at checkout: a fee, free above a subtotal."""

    __tablename__ = "shipping_option"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("free_above IS NULL OR free_above >= 0", name="free_above_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    amount: Mapped[int]
    # Free when the items' subtotal (before any discount) is at least this.
    free_above: Mapped[int | None]
    # ISO 3166 alpha-2 codes, comma-separated ("US,CA").
    countries: Mapped[str] = mapped_column(String(400))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def country_codes(self) -> list[str]:
        return [c for c in self.countries.split(",") if c]

    def serves(self, country: str | None) -> bool:
        return country in self.country_codes


class TaxRule(db.Model):
    """A tax rate charged on orders shipped to one country."""

    __tablename__ = "tax_rule"
    __table_args__ = (UniqueConstraint("country", "name", name="uq_tax_rule_country_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    name: Mapped[str] = mapped_column(String(50))
    # A decimal string ("8.875").
    percentage: Mapped[str] = mapped_column(String(12))
    # The provider's tax_rate id, whether it was made inclusive and with which percentage.
    # A provider's rate never changes either (Stripe's percentage is immutable), so a rule
    # edited since, or PRICES_INCLUDE_TAX switched, has its rate made again.
    provider_id: Mapped[str | None] = mapped_column(String(255))
    provider_inclusive: Mapped[bool | None]
    provider_percentage: Mapped[str | None] = mapped_column(String(12))

    def has_provider_rate(self, inclusive: bool) -> bool:
        """Say whether the provider's rate is this rule as it stands, made this way."""
        return (
            self.provider_id is not None
            and self.provider_inclusive == inclusive
            and self.provider_percentage == self.percentage
        )
