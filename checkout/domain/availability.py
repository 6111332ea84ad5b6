"""How much of a product is left, in the words the shop shows shoppers."""

from dataclasses import dataclass
from enum import StrEnum

# At or below this many units, shoppers are told exactly how many are left.
LOW_STOCK_THRESHOLD = 5


class StockLevel(StrEnum):
    IN_STOCK = "in"
    LOW = "low"
    SOLD_OUT = "out"


@dataclass(frozen=True)
class Availability:
    level: StockLevel
    text: str


def availability(units_free: int) -> Availability:
    """Say how available a product is: "In stock", "Only 3 left" or "Sold out"."""
    if units_free <= 0:
        return Availability(StockLevel.SOLD_OUT, "Sold out")
    if units_free <= LOW_STOCK_THRESHOLD:
        return Availability(StockLevel.LOW, f"Only {units_free} left")
    return Availability(StockLevel.IN_STOCK, "In stock")


def shown_units(units_free: int) -> int:
    """The units free as far as `availability` tells them apart: above the low-stock
    threshold every number reads "In stock"."""
    return min(units_free, LOW_STOCK_THRESHOLD + 1)
