"""A Checkout Session's amounts, computed by the rules in stripe_sandbox.totals' docstring.

Every expected number below was worked out by hand from those rules (the arithmetic is in
the comment beside it), never by running the code.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stripe_sandbox.totals import (
    LineInput,
    allocate,
    compute_totals,
    line_item_amounts,
    session_amounts,
)


def rate(rate_id: str, percentage: float, inclusive: bool) -> dict[str, Any]:
    return {"id": rate_id, "object": "tax_rate", "percentage": percentage,
            "inclusive": inclusive}


def shipping(amount: int, currency: str = "usd", **options: int) -> dict[str, Any]:
    fixed: dict[str, Any] = {"amount": amount, "currency": currency}
    if options:
        fixed["currency_options"] = {code: {"amount": value, "tax_behavior": "unspecified"}
                                     for code, value in options.items()}
    return {"id": "shr_test", "fixed_amount": fixed, "tax_behavior": "exclusive"}


PERCENT_10 = {"id": "P10", "percent_off": 10, "amount_off": None, "currency": None}
SALES_825 = rate("txr_sales", 8.25, False)
VAT_20 = rate("txr_vat", 20, True)

# (name, lines, currency, coupon, shipping rate,
#  expected per line (subtotal, discount, tax, total), expected session
#  (subtotal, discount, shipping, tax, total))
WORKED = [
    ("plain cart: 1999 x 2",
     [LineInput(1999, 2)], "usd", None, None,
     [(3998, 0, 0, 3998)], (3998, 0, 0, 0, 3998)),
    # E = 1000 + 999 = 1999; D = round(199.9) = 200. 200*1000 = 200000 = 100*1999 + 100;
    # 200*999 = 199800 = 99*1999 + 1899: floors 100 + 99, the last unit to line 2 (1899 > 100).
    ("10% off, split by largest remainder",
     [LineInput(1000, 1), LineInput(333, 3)], "usd", PERCENT_10, None,
     [(1000, 100, 0, 900), (999, 100, 0, 899)], (1999, 200, 0, 0, 1799)),
    # 500 * 300 / 1000 = 150 and 500 * 700 / 1000 = 350 exactly.
    ("500 off split in proportion",
     [LineInput(300, 1), LineInput(700, 1)], "usd",
     {"id": "A500", "amount_off": 500, "currency": "usd"}, None,
     [(300, 150, 0, 150), (700, 350, 0, 350)], (1000, 500, 0, 0, 500)),
    # D = min(5000, 1200) = 1200; the coupon never touches the 500 shipping.
    ("a coupon bigger than the items leaves only shipping",
     [LineInput(1200, 1)], "usd", {"id": "A5000", "amount_off": 5000, "currency": "usd"},
     shipping(500),
     [(1200, 1200, 0, 0)], (1200, 1200, 500, 0, 500)),
    ("a coupon bigger than the items and no shipping: total 0",
     [LineInput(1200, 1)], "usd", {"id": "A5000", "amount_off": 5000, "currency": "usd"},
     None, [(1200, 1200, 0, 0)], (1200, 1200, 0, 0, 0)),
    # 1999 * 8.25% = 164.9175 -> 165, added on top.
    ("exclusive 8.25% sales tax",
     [LineInput(1999, 1, [SALES_825])], "usd", None, None,
     [(1999, 0, 165, 2164)], (1999, 0, 0, 165, 2164)),
    # base = round(1200 * 100 / 120) = 1000, tax inside = 200; the total does not grow.
    ("inclusive 20% VAT",
     [LineInput(1200, 1, [VAT_20])], "usd", None, None,
     [(1200, 0, 200, 1200)], (1200, 0, 0, 200, 1200)),
    # base = round(99900 / 120) = round(832.5) = 833 (half up), tax inside = 999 - 833 = 166.
    ("inclusive VAT rounds the base half up",
     [LineInput(999, 1, [VAT_20])], "eur", None, None,
     [(999, 0, 166, 999)], (999, 0, 0, 166, 999)),
    # E = 4000, D = 600, split 300/300. Line 1: net 1700, 10% = 170. Line 2: net 1700.
    # total = 4000 - 600 + 500 + 170 = 4070.
    ("15% off, 10% tax on one line, shipping 500",
     [LineInput(2000, 1, [rate("txr_10", 10, False)]), LineInput(1000, 2)], "usd",
     {"id": "P15", "percent_off": 15}, shipping(500),
     [(2000, 300, 170, 1870), (2000, 300, 0, 1700)], (4000, 600, 500, 170, 4070)),
    # Yen has no minor unit: 1500 x 3 = 4500, 1000 off, 10% of 3500 = 350.
    ("zero-decimal JPY",
     [LineInput(1500, 3, [rate("txr_jct", 10, False)])], "jpy",
     {"id": "Y1000", "amount_off": 1000, "currency": "jpy"}, shipping(0, "jpy"),
     [(4500, 1000, 350, 3850)], (4500, 1000, 0, 350, 3850)),
    ("an amount coupon in another currency does not apply",
     [LineInput(1000, 1)], "usd", {"id": "E5", "amount_off": 500, "currency": "eur"}, None,
     [(1000, 0, 0, 1000)], (1000, 0, 0, 0, 1000)),
    ("its currency_options amount applies",
     [LineInput(1000, 1)], "usd", {"id": "E5", "amount_off": 500, "currency": "eur",
                                   "currency_options": {"usd": {"amount_off": 300}}}, None,
     [(1000, 300, 0, 700)], (1000, 300, 0, 0, 700)),
    # 1 unit over three equal lines: every remainder 100, the tie goes to the first line.
    ("one cent over three equal lines goes to the first",
     [LineInput(100, 1), LineInput(100, 1), LineInput(100, 1)], "usd",
     {"id": "A1", "amount_off": 1, "currency": "usd"}, None,
     [(100, 1, 0, 99), (100, 0, 0, 100), (100, 0, 0, 100)], (300, 1, 0, 0, 299)),
    ("two cents over three equal lines go to the first two",
     [LineInput(100, 1), LineInput(100, 1), LineInput(100, 1)], "usd",
     {"id": "A2", "amount_off": 2, "currency": "usd"}, None,
     [(100, 1, 0, 99), (100, 1, 0, 99), (100, 0, 0, 100)], (300, 2, 0, 0, 298)),
    # applies_to: only prod_A's 1000 is eligible, 50% of it = 500.
    ("applies_to limits the coupon to listed products",
     [LineInput(1000, 1, product="prod_A"), LineInput(1000, 1, product="prod_B")], "usd",
     {"id": "HALF", "percent_off": 50, "applies_to": {"products": ["prod_A"]}}, None,
     [(1000, 500, 0, 500), (1000, 0, 0, 1000)], (2000, 500, 0, 0, 1500)),
    # 100 * 12.5% = 12.5 -> 13 (half up).
    ("a percent discount rounds half up",
     [LineInput(100, 1)], "usd", {"id": "P125", "percent_off": 12.5}, None,
     [(100, 13, 0, 87)], (100, 13, 0, 0, 87)),
    # Two exclusive rates on the same base, not compounded: 1010 * 5% = 50.5 -> 51,
    # 1010 * 2.5% = 25.25 -> 25.
    ("two exclusive rates each on the same base",
     [LineInput(1010, 1, [rate("txr_5", 5, False), rate("txr_25", 2.5, False)])], "usd",
     None, None, [(1010, 0, 76, 1086)], (1010, 0, 0, 76, 1086)),
    # Tax on the discounted amount: 2000 - 10% = 1800; inside it 1800 - round(1500) = 300.
    ("inclusive VAT on a discounted line",
     [LineInput(2000, 1, [VAT_20])], "usd", PERCENT_10, None,
     [(2000, 200, 300, 1800)], (2000, 200, 0, 300, 1800)),
    # Inclusive 20% and exclusive 5% together: base = round(1200 / 1.2) = 1000; inside 200;
    # on top 5% of the base = 50. Total = 1200 + 50.
    ("an exclusive rate on a line with inclusive VAT taxes the base",
     [LineInput(1200, 1, [VAT_20, rate("txr_5", 5, False)])], "usd", None, None,
     [(1200, 0, 250, 1250)], (1200, 0, 0, 250, 1250)),
    ("shipping in the session currency from currency_options",
     [LineInput(1000, 1)], "eur", None, shipping(500, "usd", eur=450),
     [(1000, 0, 0, 1000)], (1000, 0, 450, 0, 1450)),
    ("100% off and free shipping: nothing to pay",
     [LineInput(2500, 2)], "usd", {"id": "FREE", "percent_off": 100}, shipping(0),
     [(5000, 5000, 0, 0)], (5000, 5000, 0, 0, 0)),
]


@pytest.mark.parametrize(("name", "lines", "currency", "coupon", "rate_", "per_line", "whole"),
                         WORKED, ids=[case[0] for case in WORKED])
def test_worked_examples(name: str, lines: list[LineInput], currency: str,
                         coupon: dict[str, Any] | None, rate_: dict[str, Any] | None,
                         per_line: list[tuple[int, int, int, int]],
                         whole: tuple[int, int, int, int, int]) -> None:
    totals = compute_totals(lines, currency=currency, coupon=coupon, shipping_rate=rate_)
    assert [(line.amount_subtotal, line.amount_discount, line.amount_tax, line.amount_total)
            for line in totals.lines] == per_line
    assert (totals.amount_subtotal, totals.amount_discount, totals.amount_shipping,
            totals.amount_tax, totals.amount_total) == whole


def test_an_unpaid_session_with_nothing_to_pay_needs_no_payment() -> None:
    free = compute_totals([LineInput(500, 1)], currency="usd",
                          coupon={"id": "FREE", "percent_off": 100})
    assert free.payment_status_when_open == "no_payment_required"
    assert compute_totals([LineInput(500, 1)], currency="usd").payment_status_when_open == \
        "unpaid"


def test_the_wire_fields_carry_the_breakdowns() -> None:
    discount = {"id": "di_1", "object": "discount"}
    totals = compute_totals([LineInput(1000, 1, [SALES_825]), LineInput(500, 2, [SALES_825])],
                            currency="usd", coupon=PERCENT_10, shipping_rate=shipping(700))
    # D = 200 split 100/100; taxes: 900 * 8.25% = 74.25 -> 74 and 900 -> 74.
    body = session_amounts(totals, discount=discount, include_breakdown=True)
    assert body["total_details"] == {
        "amount_discount": 200, "amount_shipping": 700, "amount_tax": 148,
        "breakdown": {"discounts": [{"amount": 200, "discount": discount}],
                      "taxes": [{"amount": 148, "rate": SALES_825, "taxability_reason": None,
                                 "taxable_amount": 1800}]}}
    assert body["shipping_cost"] == {"amount_subtotal": 700, "amount_tax": 0,
                                     "amount_total": 700, "shipping_rate": "shr_test"}
    assert (body["amount_subtotal"], body["amount_total"]) == (2000, 2000 - 200 + 700 + 148)
    assert "breakdown" not in session_amounts(totals)["total_details"]
    assert session_amounts(compute_totals([LineInput(1, 1)], currency="usd"))[
        "shipping_cost"] is None
    item = line_item_amounts(totals, 1, discount=discount, include_discounts=True,
                             include_taxes=True)
    assert item == {"amount_discount": 100, "amount_subtotal": 1000, "amount_tax": 74,
                    "amount_total": 974,
                    "discounts": [{"amount": 100, "discount": discount}],
                    "taxes": [{"amount": 74, "rate": SALES_825, "taxability_reason": None,
                               "taxable_amount": 900}]}


def test_two_inclusive_rates_on_one_line_are_refused() -> None:
    with pytest.raises(ValueError, match="one inclusive"):
        compute_totals([LineInput(100, 1, [VAT_20, rate("txr_7", 7, True)])], currency="usd")


def test_a_shipping_rate_without_the_session_currency_is_refused() -> None:
    with pytest.raises(ValueError, match="no amount in gbp"):
        compute_totals([LineInput(100, 1)], currency="gbp", shipping_rate=shipping(500))


@pytest.mark.parametrize(("total", "weights", "parts"), [
    (10, [1, 1, 1], [4, 3, 3]),       # 10/3 = 3 r 1 each; the one left to the first line
    (7, [0, 5, 0], [0, 7, 0]),        # everything on the only weighted line
    (5, [0, 0], [0, 0]),              # nothing to weigh by: nothing allocated
    (3, [2, 3, 5], [1, 1, 1]),        # 0.6, 0.9, 1.5: floors 0+0+1, remainders 6,9,5 → +1 +1
])
def test_allocation_by_largest_remainder(total: int, weights: list[int],
                                         parts: list[int]) -> None:
    assert allocate(total, weights) == parts


# --- properties over random carts ---

PERCENTAGES = st.decimals(min_value=0, max_value=100, places=4).map(float)
coupons = st.one_of(
    st.none(),
    st.decimals(min_value="0.01", max_value=100, places=2).map(
        lambda p: {"id": "P", "percent_off": float(p)}),
    st.builds(lambda amount, currency: {"id": "A", "amount_off": amount, "currency": currency},
              st.integers(1, 2_000_000), st.sampled_from(["usd", "eur"])),
)
lines = st.lists(
    st.builds(
        lambda unit, qty, exclusive, inclusive: LineInput(
            unit, qty,
            [rate(f"txr_x{i}", p, False) for i, p in enumerate(exclusive)]
            + ([rate("txr_inc", inclusive, True)] if inclusive is not None else [])),
        st.integers(0, 1_000_000), st.integers(1, 99),
        st.lists(PERCENTAGES, max_size=4), st.one_of(st.none(), PERCENTAGES)),
    min_size=1, max_size=8)


@settings(max_examples=500, deadline=None)
@given(lines=lines, coupon=coupons,
       shipping_amount=st.one_of(st.none(), st.integers(0, 100_000)))
def test_the_parts_always_sum(lines: list[LineInput], coupon: dict[str, Any] | None,
                              shipping_amount: int | None) -> None:
    rate_ = None if shipping_amount is None else shipping(shipping_amount)
    totals = compute_totals(lines, currency="usd", coupon=coupon, shipping_rate=rate_)
    exclusive = sum(t.amount for line in totals.lines for t in line.taxes
                    if not t.rate["inclusive"])
    assert totals.amount_total == (totals.amount_subtotal - totals.amount_discount
                                   + totals.amount_shipping + exclusive)
    assert totals.amount_total >= totals.amount_shipping >= 0
    assert sum(line.amount_discount for line in totals.lines) == totals.amount_discount
    assert sum(line.amount_subtotal for line in totals.lines) == totals.amount_subtotal
    assert sum(line.amount_tax for line in totals.lines) == totals.amount_tax
    assert totals.amount_discount <= totals.amount_subtotal
    for line, given_line in zip(totals.lines, lines, strict=True):
        assert line.amount_subtotal == given_line.unit_amount * given_line.quantity
        assert 0 <= line.amount_discount <= line.amount_subtotal
        assert all(t.amount >= 0 and t.taxable_amount >= 0 for t in line.taxes)
        assert line.amount_tax >= 0
        assert line.amount_total == (line.amount_subtotal - line.amount_discount
                                     + line.exclusive_tax) >= 0
    if coupon is not None and coupon.get("percent_off") == 100:
        assert totals.amount_total == totals.amount_shipping + exclusive == totals.amount_shipping
