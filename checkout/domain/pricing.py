"""One `price(lines, context)`: the breakdown the cart, the order, Stripe and invoices all read.

Every amount is an integer in the currency's minor unit. The arithmetic is Stripe Checkout's,
so the session the shop sends makes Stripe charge exactly the order's total:

1. A line's subtotal is unit price × quantity (an inclusive tax rate is already inside it).
2. A discount applies to the items, never to shipping: a percentage takes
   round_half_up(subtotal × p / 100) off the whole subtotal; an amount takes min(amount,
   subtotal).
3. The discount is spread over the lines in proportion to their subtotals by largest
   remainder (ties to the earlier line), so the parts add up to it exactly.
4. Tax is per line and per rate on the discounted line amount n: an inclusive rate q finds
   n − round_half_up(n × 100 / (100 + q)) inside it and leaves `base` = n minus that; each
   exclusive rate r adds round_half_up(base × r / 100) on top. Rates do not compound.
5. Shipping is the chosen method's fixed fee, not discounted and not taxed.
6. total = subtotal − discount + shipping + tax, where `tax` is the tax added on top; tax
   already inside the prices is reported apart as `tax_included`.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from checkout.domain.money import MoneyError, is_currency

MAX_QUANTITY_PER_LINE = 99


@dataclass(frozen=True)
class PricedLine:
    """A line to price: what it is, at what unit price, how many."""

    sku: str
    title: str
    unit_price: int
    quantity: int

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class TaxRate:
    """A tax rule: `percentage` as a decimal string ("8.875"); inclusive means in the price."""

    name: str
    percentage: Decimal
    inclusive: bool = False
    # The provider's id for this rate (Stripe tax_rate), when it has one.
    provider_id: str | None = None


@dataclass(frozen=True)
class Discount:
    """A discount on the items: either a percentage off or an amount off."""

    code: str
    percent_off: Decimal | None = None
    amount_off: int | None = None
    # The provider's coupon that makes the same discount (Stripe coupon id).
    provider_coupon_id: str | None = None

    def __post_init__(self) -> None:
        if (self.percent_off is None) == (self.amount_off is None):
            raise MoneyError(f"discount {self.code} needs exactly one of percent_off, amount_off")
        if self.percent_off is not None and not 0 < self.percent_off <= 100:
            raise MoneyError(f"discount {self.code} must take off more than 0% and at most 100%")
        if self.amount_off is not None and self.amount_off <= 0:
            raise MoneyError(f"discount {self.code} must take off a positive amount")


@dataclass(frozen=True)
class ShippingMethod:
    """How the order travels, and its fixed fee."""

    code: str
    name: str
    amount: int

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise MoneyError(f"shipping method {self.code} has a negative fee")


@dataclass(frozen=True)
class PricingContext:
    """Everything beyond the lines that decides the price."""

    currency: str
    country: str | None = None
    shipping: ShippingMethod | None = None
    discount: Discount | None = None
    # Applied to every line (the rules for the destination, chosen by the caller).
    tax_rates: tuple[TaxRate, ...] = field(default=())

    def __post_init__(self) -> None:
        if not is_currency(self.currency):
            raise MoneyError(f"unknown currency {self.currency!r}")
        if sum(rate.inclusive for rate in self.tax_rates) > 1:
            raise MoneyError("at most one inclusive tax rate applies to a line")

    @property
    def included_tax_name(self) -> str | None:
        """The name of the rate already inside the prices ("VAT"), if one is."""
        return next((rate.name for rate in self.tax_rates if rate.inclusive), None)


@dataclass(frozen=True)
class LineBreakdown:
    line: PricedLine
    subtotal: int
    discount: int
    tax: int
    tax_included: int
    total: int


@dataclass(frozen=True)
class Breakdown:
    """The price of a set of lines in a context: per line and in total."""

    currency: str
    lines: tuple[LineBreakdown, ...]
    subtotal: int
    discount: int
    shipping: int
    tax: int
    tax_included: int
    total: int


def round_half_up(value: Decimal) -> int:
    """Round an exact non-negative amount to a whole minor unit, halves up."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` in proportion to `weights` by largest remainder; the parts sum exactly."""
    whole = sum(weights)
    if whole == 0:
        return [0] * len(weights)
    parts = [amount * w // whole for w in weights]
    remainders = [amount * w % whole for w in weights]
    left = amount - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in by_remainder[:left]:
        parts[i] += 1
    return parts


def _discount_total(discount: Discount | None, subtotal: int) -> int:
    if discount is None:
        return 0
    if discount.percent_off is not None:
        return round_half_up(Decimal(subtotal) * discount.percent_off / 100)
    return min(discount.amount_off, subtotal)


def _line_taxes(amount: int, rates: Sequence[TaxRate]) -> tuple[int, int]:
    """Return (tax added on top, tax already inside) for one discounted line amount."""
    base = amount
    inside = 0
    for rate in rates:
        if rate.inclusive:
            base = round_half_up(Decimal(amount) * 100 / (100 + rate.percentage))
            inside = amount - base
    added = sum(
        round_half_up(Decimal(base) * rate.percentage / 100) for rate in rates if not rate.inclusive
    )
    return added, inside


def price(lines: Iterable[PricedLine], context: PricingContext) -> Breakdown:
    """Price the lines in the context; raise MoneyError for an impossible line."""
    lines = list(lines)
    for line in lines:
        if line.unit_price < 0 or not 1 <= line.quantity <= MAX_QUANTITY_PER_LINE:
            raise MoneyError(f"line {line.sku} has an impossible price or quantity")
    subtotals = [line.line_total for line in lines]
    subtotal = sum(subtotals)
    discount = _discount_total(context.discount, subtotal)
    priced = []
    for line, line_subtotal, line_discount in zip(
        lines, subtotals, allocate(discount, subtotals), strict=True
    ):
        net = line_subtotal - line_discount
        added, inside = _line_taxes(net, context.tax_rates)
        priced.append(
            LineBreakdown(line, line_subtotal, line_discount, added, inside, net + added)
        )
    shipping = context.shipping.amount if context.shipping else 0
    tax = sum(p.tax for p in priced)
    return Breakdown(
        currency=context.currency.upper(),
        lines=tuple(priced),
        subtotal=subtotal,
        discount=discount,
        shipping=shipping,
        tax=tax,
        tax_included=sum(p.tax_included for p in priced),
        total=subtotal - discount + shipping + tax,
    )


def context_to_dict(context: PricingContext) -> dict:
    """The context as plain JSON-able data, kept with the order it priced."""
    return {
        "currency": context.currency,
        "country": context.country,
        "shipping": None if context.shipping is None else {
            "code": context.shipping.code, "name": context.shipping.name,
            "amount": context.shipping.amount,
        },
        "discount": None if context.discount is None else {
            "code": context.discount.code,
            "percent_off": None if context.discount.percent_off is None
            else str(context.discount.percent_off),
            "amount_off": context.discount.amount_off,
            "provider_coupon_id": context.discount.provider_coupon_id,
        },
        "tax_rates": [
            {"name": r.name, "percentage": str(r.percentage), "inclusive": r.inclusive,
             "provider_id": r.provider_id}
            for r in context.tax_rates
        ],
    }


def context_from_dict(data: dict) -> PricingContext:
    """Rebuild a context kept with `context_to_dict`."""
    shipping, discount = data.get("shipping"), data.get("discount")
    return PricingContext(
        currency=data["currency"],
        country=data.get("country"),
        shipping=ShippingMethod(**shipping) if shipping else None,
        discount=Discount(
            code=discount["code"],
            percent_off=None if discount["percent_off"] is None
            else Decimal(discount["percent_off"]),
            amount_off=discount["amount_off"],
            provider_coupon_id=discount["provider_coupon_id"],
        ) if discount else None,
        tax_rates=tuple(
            TaxRate(r["name"], Decimal(r["percentage"]), r["inclusive"], r["provider_id"])
            for r in data.get("tax_rates", [])
        ),
    )
