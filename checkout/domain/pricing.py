"""Turn priced lines into order totals. Discounts, shipping and tax plug in here later."""

from collections.abc import Iterable
from dataclasses import dataclass

from checkout.domain.money import MoneyError

MAX_QUANTITY_PER_LINE = 99


@dataclass(frozen=True)
class PricedLine:
    sku: str
    title: str
    unit_price: int
    quantity: int

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Totals:
    currency: str
    subtotal: int
    discount: int
    shipping: int
    tax: int
    total: int


def price_lines(lines: Iterable[PricedLine], currency: str) -> Totals:
    """Compute the totals of an order from its lines, all in minor units of one currency."""
    lines = list(lines)
    for line in lines:
        if line.unit_price < 0 or not 1 <= line.quantity <= MAX_QUANTITY_PER_LINE:
            raise MoneyError(f"line {line.sku} has an impossible price or quantity")
    subtotal = sum(line.line_total for line in lines)
    discount = shipping = tax = 0
    return Totals(
        currency=currency.upper(),
        subtotal=subtotal,
        discount=discount,
        shipping=shipping,
        tax=tax,
        total=subtotal - discount + shipping + tax,
    )
