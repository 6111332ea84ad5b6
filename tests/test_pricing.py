"""price(lines, context): worked examples computed by hand from the rules in domain/pricing.py."""

from decimal import Decimal

import pytest

from checkout.domain.money import MoneyError
from checkout.domain.pricing import (
    Discount,
    PricedLine,
    PricingContext,
    ShippingMethod,
    TaxRate,
    allocate,
    context_from_dict,
    context_to_dict,
    price,
)

SHIRTS = PricedLine("TS", "T-shirt", 1999, 2)
SOCKS = PricedLine("SO", "Socks", 500, 1)
TEN_OFF = Discount("TEN", percent_off=Decimal("10"), provider_coupon_id="co_1")
NY_TAX = TaxRate("NY sales tax", Decimal("8.875"), provider_id="txr_1")
VAT = TaxRate("VAT", Decimal("20"), inclusive=True, provider_id="txr_2")
POST = ShippingMethod("post", "Post", 500)


def test_with_no_discount_no_shipping_and_no_tax_the_total_is_the_subtotal():
    b = price([SHIRTS, SOCKS], PricingContext("usd"))
    assert (b.currency, b.subtotal, b.discount, b.shipping, b.tax, b.total) == (
        "USD", 4498, 0, 0, 0, 4498)
    assert [line.total for line in b.lines] == [3998, 500]


def test_a_percentage_is_taken_off_the_whole_subtotal_and_spread_by_largest_remainder():
    # 10% of 4498 = 449.8 → 450; 450 × 3998 / 4498 = 399.97 → 399 (+1, larger remainder), 50.
    b = price([SHIRTS, SOCKS], PricingContext("USD", discount=TEN_OFF))
    assert b.discount == 450
    assert [line.discount for line in b.lines] == [400, 50]
    assert b.total == 4048


def test_exclusive_tax_is_per_line_on_the_discounted_amount_and_shipping_is_untaxed():
    # Lines after discount: 3598 and 450. 3598 × 8.875% = 319.32 → 319; 450 × 8.875% = 39.94 → 40.
    context = PricingContext("USD", discount=TEN_OFF, tax_rates=(NY_TAX,), shipping=POST)
    b = price([SHIRTS, SOCKS], context)
    assert [line.tax for line in b.lines] == [319, 40]
    assert (b.subtotal, b.discount, b.shipping, b.tax, b.total) == (4498, 450, 500, 359, 4907)


def test_inclusive_tax_is_found_inside_the_price_and_adds_nothing():
    # 1200 × 100 / 120 = 1000 → 200 of VAT inside the price.
    b = price([PricedLine("A", "A", 1200, 1)], PricingContext("EUR", tax_rates=(VAT,)))
    assert (b.tax, b.tax_included, b.total) == (0, 200, 1200)


def test_an_amount_off_never_takes_the_items_below_zero_and_shipping_stays():
    context = PricingContext(
        "USD", discount=Discount("BIG", amount_off=5000, provider_coupon_id="co_2"),
        shipping=POST)
    b = price([SHIRTS, SOCKS], context)
    assert (b.discount, b.total) == (4498, 500)
    assert [line.total for line in b.lines] == [0, 0]


def test_zero_decimal_currencies_need_nothing_special():
    b = price([PricedLine("TEA", "Tea", 1500, 3)], PricingContext("JPY", discount=TEN_OFF))
    assert (b.subtotal, b.discount, b.total) == (4500, 450, 4050)


def test_allocation_parts_always_add_up():
    assert allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert allocate(0, [5, 5]) == [0, 0]
    assert allocate(7, [0, 0]) == [0, 0]


@pytest.mark.parametrize(
    "make",
    [
        lambda: Discount("X"),
        lambda: Discount("X", percent_off=Decimal("0")),
        lambda: Discount("X", percent_off=Decimal("100.01")),
        lambda: Discount("X", amount_off=0),
        lambda: Discount("X", percent_off=Decimal("5"), amount_off=5),
        lambda: ShippingMethod("x", "X", -1),
        lambda: PricingContext("XYZ"),
        lambda: PricingContext("USD", tax_rates=(VAT, VAT)),
    ],
)
def test_impossible_rules_are_refused(make):
    with pytest.raises(MoneyError):
        make()


def test_a_context_survives_being_kept_with_its_order():
    context = PricingContext("USD", "US", POST, TEN_OFF, (NY_TAX, VAT))
    assert context_from_dict(context_to_dict(context)) == context
