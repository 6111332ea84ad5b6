"""How much money a refund of order lines gives back: each line's share of what was paid.

The rule, in integer minor units:

1. A line's paid amount is what the shopper paid for it: its subtotal, minus its part of the
   order's discount, plus the tax added on top of it (tax inside the prices is already in the
   subtotal). These are the per-line figures of the order's own price breakdown, so a line's
   paid amounts add up to the order's items total exactly. Shipping belongs to no line: it is
   refunded by amount.
2. Refunding `q` more units of a line of `Q` units paid `P`, of which `r` were refunded
   before, gives back round_half_up(P × (r + q) / Q) − round_half_up(P × r / Q). Counting
   from the units already refunded makes the parts of a line refunded bit by bit add up to
   `P` exactly, never a cent more or less, whatever the order of the refunds.
3. The refund is the sum over its lines, and never more than is left to refund on the
   payment (other refunds, by amount or from the provider's dashboard, may have taken it).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from checkout.domain.errors import RefundNotAllowed
from checkout.domain.pricing import PricedLine, PricingContext, allocate, price, round_half_up


def paid_per_line(
    lines: Sequence[PricedLine], context: PricingContext, items_paid: int
) -> list[int]:
    """What was paid for each line (rule 1), adding up to `items_paid` (total − shipping).

    The order's breakdown is priced again in the context it was priced in; should that ever
    disagree with what the order says was paid (an order from before its context was kept),
    the amount paid for the items is spread over the lines by their subtotals instead.
    """
    breakdown = price(lines, context)
    paid = [line.total for line in breakdown.lines]
    if sum(paid) == items_paid:
        return paid
    return allocate(items_paid, [line.line_total for line in lines])


@dataclass(frozen=True)
class RefundableLine:
    """An order line as a refund sees it: units sold, money paid, units refunded so far."""

    line_id: int
    title: str
    quantity: int
    paid: int
    refunded_quantity: int = 0

    @property
    def quantity_left(self) -> int:
        return self.quantity - self.refunded_quantity

    def share(self, units: int) -> int:
        """The money `units` more units of this line give back (rule 2)."""
        if not 0 <= units <= self.quantity_left:
            raise RefundNotAllowed(
                f"{self.title}: {units} cannot be refunded, {self.quantity_left} of "
                f"{self.quantity} are left to refund."
            )
        done = self.refunded_quantity
        return self._paid_for(done + units) - self._paid_for(done)

    def _paid_for(self, units: int) -> int:
        return round_half_up(Decimal(self.paid) * units / self.quantity)


def lines_refund_amount(
    lines: Sequence[RefundableLine], quantities: Mapping[int, int], left: int
) -> int:
    """The amount refunding `quantities` (line id → units) gives back, at most `left`.

    Raises RefundNotAllowed for a line that is not the order's, more units than are left, no
    unit at all, or nothing left to refund on the payment.
    """
    by_id = {line.line_id: line for line in lines}
    unknown = set(quantities) - set(by_id)
    if unknown:
        raise RefundNotAllowed("Some of those lines are not on this order.")
    if not any(quantities.values()):
        raise RefundNotAllowed("Choose at least one unit to refund.")
    amount = sum(by_id[line_id].share(units) for line_id, units in quantities.items())
    if left <= 0:
        raise RefundNotAllowed("Nothing is left to refund on this order.")
    return min(amount, left)
