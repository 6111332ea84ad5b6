"""A Checkout Session's amounts: line subtotals, the coupon, tax rates, shipping and total.

Pure functions over integer minor units (cents; yen for JPY, which has no minor unit, so a
zero-decimal currency needs nothing special). `compute_totals` does the arithmetic;
`line_item_amounts` and `session_amounts` render it in Stripe's wire format.

How the totals are computed
===========================
Every amount is an integer in the currency's minor unit. "round" below means round half up
(away from zero for these non-negative amounts: 0.5 → 1), which is how Stripe rounds tax
("commercial rounding", docs.stripe.com/billing/taxes/tax-rates#rounding); Stripe publishes
no rule for discounts, so they use the same rounding plus the allocation in step 3.

1. Line subtotal. ``s_i = unit_amount_i × quantity_i``. With an inclusive tax rate the unit
   amount already contains the tax, so the subtotal does too. Session
   ``amount_subtotal = Σ s_i``.
2. Coupon total ``D`` (one coupon at most, on the line items only, never on shipping).
   Eligible lines are all lines, or with ``applies_to.products`` only lines whose product is
   listed. ``E = Σ s_i`` over eligible lines.
   - ``percent_off = p``: ``D = round(E × p / 100)``, computed exactly (p as a decimal).
   - ``amount_off = a``: the coupon's amount in the session currency (``amount_off`` when
     ``currency`` matches, else ``currency_options[currency].amount_off``); with neither the
     coupon does not apply and ``D = 0``. ``D = min(a, E)``: the discount never takes the
     items below 0.
3. Allocation of ``D`` over the eligible lines, in proportion to their subtotals, by largest
   remainder: ``d_i = floor(D × s_i / E)``; the ``D − Σ d_i`` minor units left go one each to
   the lines with the largest remainder ``(D × s_i) mod E``, ties to the earlier line. So
   ``Σ d_i = D`` exactly and ``d_i ≤ s_i``. Ineligible lines get ``d_i = 0``. Session
   ``total_details.amount_discount = D``.
4. Tax, per line, on the discounted amount ``n_i = s_i − d_i``, each rate on its own (Stripe
   does not compound rates), rounded per line and rate:
   - inclusive rate ``q`` (at most one per line): ``base_i = round(n_i × 100 / (100 + q))``,
     inclusive tax ``= n_i − base_i``. It is already inside ``n_i``.
   - with no inclusive rate ``base_i = n_i``.
   - each exclusive rate ``r``: tax ``= round(base_i × r / 100)``, added on top.
   Every ``taxes[]`` entry has ``taxable_amount = base_i`` and ``taxability_reason = null``
   (manual tax rates carry no taxability decision). Line ``amount_tax`` = inclusive tax +
   exclusive taxes; session ``amount_tax = Σ`` line ``amount_tax``;
   ``total_details.breakdown.taxes`` sums amount and taxable_amount per tax rate, in order of
   first appearance.
5. Shipping. The selected shipping rate's fixed amount in the session currency (``amount``,
   or ``currency_options[currency].amount``) is ``amount_shipping``; 0 with no shipping rate.
   No discount applies to it, and manual tax rates never tax it (Stripe taxes shipping only
   with automatic tax, which the sandbox does not do), so whatever its ``tax_behavior``:
   ``shipping_cost = {amount_subtotal: S, amount_tax: 0, amount_total: S}``.
6. Totals. Line ``amount_total = n_i + exclusive taxes of the line``. Session
   ``amount_total = amount_subtotal − amount_discount + amount_shipping + Σ exclusive tax``
   (inclusive tax is counted in ``amount_tax`` but adds nothing). It is never negative, and
   0 is legal: Stripe then reports ``payment_status: no_payment_required``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


@dataclass(frozen=True)
class LineInput:
    """One line item to price: tax rates are tax_rate objects (at least id, percentage,
    inclusive); `product` is the product id, used only by a coupon's `applies_to`."""

    unit_amount: int
    quantity: int
    tax_rates: Sequence[Mapping[str, Any]] = ()
    product: str | None = None


@dataclass(frozen=True)
class TaxAmount:
    """The tax one rate adds to (or finds inside) one line."""

    rate: Mapping[str, Any]
    amount: int
    taxable_amount: int


@dataclass(frozen=True)
class LineTotals:
    """A line's amounts after the coupon and its taxes."""

    amount_subtotal: int
    amount_discount: int
    amount_tax: int
    amount_total: int
    taxes: tuple[TaxAmount, ...]

    @property
    def exclusive_tax(self) -> int:
        """Return the tax added on top of the line (the part not inside its price)."""
        return sum(t.amount for t in self.taxes if not t.rate["inclusive"])


@dataclass(frozen=True)
class Totals:
    """A session's amounts, per line and in total."""

    currency: str
    lines: tuple[LineTotals, ...]
    amount_subtotal: int
    amount_discount: int
    amount_shipping: int
    amount_tax: int
    amount_total: int
    shipping_rate: Mapping[str, Any] | None

    @property
    def payment_status_when_open(self) -> str:
        """Return the payment_status Stripe gives an unpaid session with these amounts."""
        return "no_payment_required" if self.amount_total == 0 else "unpaid"


def round_half_up(value: Decimal) -> int:
    """Round a non-negative exact amount to a whole minor unit, halves up."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` over `weights` proportionally; largest remainders (earlier first) get
    the units left, so the parts sum to `total` and none exceeds its weight if total ≤ Σ."""
    whole = sum(weights)
    if whole == 0:
        return [0] * len(weights)
    parts = [total * weight // whole for weight in weights]
    remainders = [total * weight % whole for weight in weights]
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for index in order[:total - sum(parts)]:
        parts[index] += 1
    return parts


def coupon_discount(coupon: Mapping[str, Any] | None, eligible_subtotal: int,
                    currency: str) -> int:
    """Return the coupon's whole discount on `eligible_subtotal` (rules 2 above)."""
    if coupon is None or eligible_subtotal <= 0:
        return 0
    if coupon.get("percent_off") is not None:
        percent = Decimal(str(coupon["percent_off"]))
        return min(eligible_subtotal, round_half_up(eligible_subtotal * percent / 100))
    if coupon.get("currency") == currency:
        amount = coupon["amount_off"]
    else:
        option = (coupon.get("currency_options") or {}).get(currency)
        if not option:
            return 0
        amount = option["amount_off"]
    return min(amount, eligible_subtotal)


def line_taxes(net: int, tax_rates: Sequence[Mapping[str, Any]]) -> tuple[TaxAmount, ...]:
    """Return each rate's tax on a line whose discounted amount is `net` (rule 4 above)."""
    inclusive = [rate for rate in tax_rates if rate["inclusive"]]
    if len(inclusive) > 1:
        raise ValueError("a line item can have at most one inclusive tax rate")
    base = net
    if inclusive:
        percent = Decimal(str(inclusive[0]["percentage"]))
        base = round_half_up(net * Decimal(100) / (100 + percent))
    taxes = []
    for rate in tax_rates:
        if rate["inclusive"]:
            amount = net - base
        else:
            amount = round_half_up(base * Decimal(str(rate["percentage"])) / 100)
        taxes.append(TaxAmount(rate=rate, amount=amount, taxable_amount=base))
    return tuple(taxes)


def compute_totals(lines: Sequence[LineInput], *, currency: str,
                   coupon: Mapping[str, Any] | None = None,
                   shipping_rate: Mapping[str, Any] | None = None) -> Totals:
    """Price a session's line items with its coupon, tax rates and chosen shipping rate."""
    for line in lines:
        if line.unit_amount < 0 or line.quantity < 0:
            raise ValueError("unit amounts and quantities cannot be negative")
    subtotals = [line.unit_amount * line.quantity for line in lines]
    products = ((coupon or {}).get("applies_to") or {}).get("products")
    eligible = [products is None or line.product in products for line in lines]
    weights = [s if ok else 0 for s, ok in zip(subtotals, eligible, strict=True)]
    discounts = allocate(coupon_discount(coupon, sum(weights), currency), weights)
    priced = []
    for line, subtotal, discount in zip(lines, subtotals, discounts, strict=True):
        taxes = line_taxes(subtotal - discount, line.tax_rates)
        tax = sum(t.amount for t in taxes)
        exclusive = sum(t.amount for t in taxes if not t.rate["inclusive"])
        priced.append(LineTotals(subtotal, discount, tax, subtotal - discount + exclusive,
                                 taxes))
    shipping = 0
    if shipping_rate is not None:
        shipping = _shipping_amount(shipping_rate, currency)
    subtotal = sum(subtotals)
    discount = sum(discounts)
    exclusive_tax = sum(line.exclusive_tax for line in priced)
    return Totals(
        currency=currency,
        lines=tuple(priced),
        amount_subtotal=subtotal,
        amount_discount=discount,
        amount_shipping=shipping,
        amount_tax=sum(line.amount_tax for line in priced),
        amount_total=subtotal - discount + shipping + exclusive_tax,
        shipping_rate=shipping_rate,
    )


def _shipping_amount(rate: Mapping[str, Any], currency: str) -> int:
    fixed = rate["fixed_amount"]
    if fixed["currency"] == currency:
        return fixed["amount"]
    option = (fixed.get("currency_options") or {}).get(currency)
    if option is None:
        raise ValueError(f"shipping rate {rate.get('id')} has no amount in {currency}")
    return option["amount"]


def _tax_body(tax: TaxAmount) -> dict[str, Any]:
    return {"amount": tax.amount, "rate": dict(tax.rate), "taxability_reason": None,
            "taxable_amount": tax.taxable_amount}


def line_item_amounts(totals: Totals, index: int, *, discount: Mapping[str, Any] | None = None,
                      include_discounts: bool = False,
                      include_taxes: bool = False) -> dict[str, Any]:
    """Return line item `index`'s amount fields; `discounts`/`taxes` only when expanded
    (`expand[]=line_items.data.discounts` / `.taxes`), `discount` being the applied one."""
    line = totals.lines[index]
    body: dict[str, Any] = {
        "amount_discount": line.amount_discount,
        "amount_subtotal": line.amount_subtotal,
        "amount_tax": line.amount_tax,
        "amount_total": line.amount_total,
    }
    if include_discounts:
        body["discounts"] = [] if discount is None or not line.amount_discount else \
            [{"amount": line.amount_discount, "discount": dict(discount)}]
    if include_taxes:
        body["taxes"] = [_tax_body(tax) for tax in line.taxes]
    return body


def session_amounts(totals: Totals, *, discount: Mapping[str, Any] | None = None,
                    include_breakdown: bool = False) -> dict[str, Any]:
    """Return the session's amount_subtotal, amount_total, total_details and shipping_cost;
    `total_details.breakdown` only when expanded (`expand[]=total_details.breakdown`)."""
    details: dict[str, Any] = {
        "amount_discount": totals.amount_discount,
        "amount_shipping": totals.amount_shipping,
        "amount_tax": totals.amount_tax,
    }
    if include_breakdown:
        by_rate: dict[str, TaxAmount] = {}
        for line in totals.lines:
            for tax in line.taxes:
                seen = by_rate.get(tax.rate["id"])
                by_rate[tax.rate["id"]] = tax if seen is None else TaxAmount(
                    seen.rate, seen.amount + tax.amount,
                    seen.taxable_amount + tax.taxable_amount)
        details["breakdown"] = {
            "discounts": [] if discount is None else
            [{"amount": totals.amount_discount, "discount": dict(discount)}],
            "taxes": [_tax_body(tax) for tax in by_rate.values()],
        }
    shipping_cost = None
    if totals.shipping_rate is not None:
        shipping_cost = {
            "amount_subtotal": totals.amount_shipping,
            "amount_tax": 0,
            "amount_total": totals.amount_shipping,
            "shipping_rate": totals.shipping_rate["id"],
        }
    return {
        "amount_subtotal": totals.amount_subtotal,
        "amount_total": totals.amount_total,
        "shipping_cost": shipping_cost,
        "total_details": details,
    }
