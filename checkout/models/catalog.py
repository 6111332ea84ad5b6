"""Products the shop sells. One product is one SKU."""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from checkout.db import UTCDateTime, now_utc
from checkout.extensions import db

if TYPE_CHECKING:
    from checkout.models.inventory import Stock


class Product(db.Model):
    """Something for sale. Its price is in the shop's one currency, STORE_CURRENCY."""

    __tablename__ = "product"
    __table_args__ = (CheckConstraint("price >= 0", name="price_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[str | None] = mapped_column(String(200))
    price: Mapped[int]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    stock: Mapped["Stock"] = relationship(back_populates="product", lazy="joined")

    @hybrid_property
    def for_sale(self) -> bool:
        """Shoppers may find it, put it in a cart and check it out (here and in SQL)."""
        return self.is_active

    @property
    def available(self) -> int:
        return self.stock.available if self.stock else 0
