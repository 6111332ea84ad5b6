"""The line-refund rule: each line's share of what was paid, in exact minor units."""

from decimal import Decimal
from itertools import permutations

import pytest

from checkout.domain.errors import RefundNotAllowed
from checkout.domain.pricing import (
    Discount,
    PricedLine,
    PricingContext,
    ShippingMethod,
    TaxRate,
    price,
)
from checkout.domain.refund_shares import RefundableLine, lines_refund_amount, paid_per_line

MUG = PricedLine("MUG", "Mug", 2400, 3)
PEN = PricedLine("PEN", "Pen", 1250, 1)
CONTEXT = PricingContext(
    currency="USD",
    shipping=ShippingMethod("std", "Standard", 595),
    discount=Discount("TEN", percent_off=Decimal("10")),
    tax_rates=(TaxRate("Sales tax", Decimal("8.875")),),
)


def test_a_lines_paid_amount_is_its_subtotal_less_its_discount_plus_its_tax():
    breakdown = price([MUG, PEN], CONTEXT)
    paid = paid_per_line([MUG, PEN], CONTEXT, breakdown.total - breakdown.shipping)
    # Mug: 7200 − 720 discount = 6480, + 575.1 tax → 575: 7055. Pen: 1250 − 125 = 1125, + 99.84
    # → 100: 1225.
    assert paid == [7055, 1225]
    assert sum(paid) == breakdown.total - breakdown.shipping


def test_when_the_order_disagrees_with_its_context_the_paid_items_are_spread_by_subtotal():
    assert paid_per_line([MUG, PEN], PricingContext(currency="USD"), 8450 - 1) == [7199, 1250]


@pytest.mark.parametrize("paid,quantity", [(1000, 3), (7055, 3), (1, 2), (99999, 7), (0, 4)])
def test_a_line_refunded_unit_by_unit_in_any_steps_adds_up_to_what_was_paid(paid, quantity):
    ways = {(1,) * quantity, (quantity,), (quantity - 1, 1) if quantity > 1 else (1,)}
    for steps in ways:
        for order in set(permutations(steps)):
            line = RefundableLine(1, "Mug", quantity, paid)
            total = 0
            for units in order:
                total += line.share(units)
                line = RefundableLine(1, "Mug", quantity, paid, line.refunded_quantity + units)
            assert total == paid, (steps, order)


def test_one_unit_of_three_gives_back_a_third_rounded_half_up_from_what_is_refunded():
    line = RefundableLine(1, "Mug", 3, 1000)
    assert [line.share(1), RefundableLine(1, "Mug", 3, 1000, 1).share(1),
            RefundableLine(1, "Mug", 3, 1000, 2).share(1)] == [333, 334, 333]


def test_a_refund_of_lines_sums_its_shares_and_never_exceeds_what_is_left():
    lines = [RefundableLine(1, "Mug", 3, 7055), RefundableLine(2, "Pen", 1, 1225)]
    assert lines_refund_amount(lines, {1: 1, 2: 1}, 100_000) == 2352 + 1225
    assert lines_refund_amount(lines, {1: 3}, 5000) == 5000


@pytest.mark.parametrize("quantities,left,message", [
    ({1: 4}, 10_000, "Mug: 4 cannot be refunded, 3 of 3 are left to refund."),
    ({1: 0}, 10_000, "Choose at least one unit to refund."),
    ({}, 10_000, "Choose at least one unit to refund."),
    ({9: 1}, 10_000, "Some of those lines are not on this order."),
    ({1: 1}, 0, "Nothing is left to refund on this order."),
])
def test_impossible_line_refunds_are_refused_with_a_reason(quantities, left, message):
    lines = [RefundableLine(1, "Mug", 3, 7055)]
    with pytest.raises(RefundNotAllowed, match=message):
        lines_refund_amount(lines, quantities, left)


def test_units_already_refunded_are_not_refunded_again():
    line = RefundableLine(1, "Mug", 3, 7055, refunded_quantity=2)
    with pytest.raises(RefundNotAllowed, match="1 of 3 are left"):
        line.share(2)
