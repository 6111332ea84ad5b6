"""Shipping addresses a shopper used, offered again at their next checkout."""

import hashlib
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from checkout.db import UTCDateTime, now_utc
from checkout.extensions import db


class Address(db.Model):
    __tablename__ = "address"
    # One row per distinct address of a shopper: using it again only moves last_used_at.
    # The constraint also serves "this shopper's addresses" (user_id leads it).
    __table_args__ = (UniqueConstraint("user_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(120))
    postal_code: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    @staticmethod
    def fingerprint_of(*parts: str) -> str:
        """Identify an address by its fields, ignoring case and surrounding spaces."""
        joined = "\x1f".join(part.strip().casefold() for part in parts)
        return hashlib.sha256(joined.encode()).hexdigest()
