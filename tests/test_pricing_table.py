"""Worked examples of the shop's pricing: codes, shipping, tax, as store_context builds them.

Each row is worked by hand in its comment; the arithmetic is domain.pricing's (Stripe's).
"""

from decimal import Decimal

import pytest

from checkout.domain.errors import DiscountRefused, ShippingUnavailable
from checkout.domain.pricing import PricedLine, price
from checkout.extensions import db
from checkout.models import DiscountCode, ShippingOption, TaxRule
from checkout.services.pricing import store_context


@pytest.fixture
def rules(app, ctx):
    """Four codes, two shipping methods, and tax in the US, GB and JP (none in CA)."""
    db.session.add_all([
        DiscountCode(code="TEN", percent_off="10"),
        DiscountCode(code="FIVER", amount_off=500),
        DiscountCode(code="CAPPED", percent_off="15", cap=2000),
        DiscountCode(code="BIGSPEND", amount_off=1000, min_subtotal=5000),
        ShippingOption(code="standard", name="Standard", amount=595, free_above=7500,
                       countries="US,GB,JP,CA"),
        ShippingOption(code="express", name="Express", amount=1495, countries="US"),
        TaxRule(country="US", name="Sales tax", percentage="8.875"),
        TaxRule(country="GB", name="VAT", percentage="20"),
        TaxRule(country="JP", name="Consumption tax", percentage="10"),
    ])
    db.session.commit()


def lines(*items: tuple[int, int]) -> list[PricedLine]:
    return [PricedLine(f"SKU{i}", f"Item {i}", unit, qty) for i, (unit, qty) in enumerate(items)]


def totals(items, country=None, shipping=None, code=None, email=None):
    priced = lines(*items)
    subtotal = sum(line.line_total for line in priced)
    context = store_context(country, shipping, code, email, subtotal=subtotal)
    b = price(priced, context)
    return (b.subtotal, b.discount, b.shipping, b.tax, b.tax_included, b.total), context


EXAMPLES = [
    # 2 × 24.00 = 48.00; 10% = 4.80.
    ("percent", [(2400, 2)], None, None, "ten", (4800, 480, 0, 0, 0, 4320)),
    # 5.00 off 48.00.
    ("amount", [(2400, 2)], None, None, "FIVER", (4800, 500, 0, 0, 0, 4300)),
    # An amount never takes more than the items: 5.00 off 3.00.
    ("amount above the items", [(300, 1)], None, None, "FIVER", (300, 300, 0, 0, 0, 0)),
    # 15% of 100.00 = 15.00, under the 20.00 cap.
    ("cap not reached", [(10000, 1)], None, None, "CAPPED", (10000, 1500, 0, 0, 0, 8500)),
    # 15% of 200.00 = 30.00, capped at 20.00.
    ("cap binds", [(10000, 2)], None, None, "CAPPED", (20000, 2000, 0, 0, 0, 18000)),
    # Minimum 50.00 met exactly.
    ("minimum met", [(2500, 2)], None, None, "BIGSPEND", (5000, 1000, 0, 0, 0, 4000)),
    # Standard 5.95 on 74.99.
    ("under the free threshold", [(7499, 1)], "CA", "standard", None,
     (7499, 0, 595, 0, 0, 8094)),
    # Standard is free from 75.00 of items, counted before the discount: 80.00 − 8.00.
    ("free shipping counted before the discount", [(8000, 1)], "CA", "standard", "TEN",
     (8000, 800, 0, 0, 0, 7200)),
    # Express 14.95; US 8.875% of (48.00 − 4.80 = 43.20) = 3.834 → 3.83; shipping untaxed.
    ("tax exclusive", [(2400, 2)], "US", "express", "TEN", (4800, 480, 1495, 383, 0, 6198)),
    # Per line: 8.875% of 0.05 = 0.0044 → 0.00 and of 10.00 = 0.8875 → 0.89.
    ("tax rounded per line", [(5, 1), (1000, 1)], "US", None, None, (1005, 0, 0, 89, 0, 1094)),
]


@pytest.mark.parametrize(("name", "items", "country", "shipping", "code", "expected"),
                         EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_worked_examples(rules, name, items, country, shipping, code, expected):
    assert totals(items, country, shipping, code)[0] == expected


def test_a_capped_percentage_becomes_an_amount_coupon_only_when_the_cap_binds(rules):
    _, under = totals([(10000, 1)], code="CAPPED")
    _, over = totals([(10000, 2)], code="CAPPED")
    assert (under.discount.percent_off, under.discount.amount_off) == (Decimal("15"), None)
    assert under.discount.provider_coupon_id == "CAPPED-15pct"
    assert (over.discount.percent_off, over.discount.amount_off) == (None, 2000)
    assert over.discount.provider_coupon_id == "CAPPED-2000usd"


def test_tax_inclusive_is_found_inside_the_price_and_not_added(app, rules, monkeypatch):
    monkeypatch.setitem(app.config, "PRICES_INCLUDE_TAX", True)
    # 60.00 with 20% inside: 60.00 − round(60.00 × 100 / 120) = 10.00 inside; total unchanged.
    assert totals([(6000, 1)], "GB")[0] == (6000, 0, 0, 0, 1000, 6000)
    # With 10% off: 54.00, 9.00 inside; Standard 5.95 on top.
    assert totals([(6000, 1)], "GB", "standard", "TEN")[0] == (6000, 600, 595, 0, 900, 5995)


def test_a_zero_decimal_currency_prices_in_whole_yen(app, rules, monkeypatch):
    monkeypatch.setitem(app.config, "STORE_CURRENCY", "JPY")
    # 3 × ¥1,500 = ¥4,500; 10% = ¥450; 10% tax on ¥4,050 = ¥405; Standard ¥595.
    result, context = totals([(1500, 3)], "JP", "standard", "TEN")
    assert result == (4500, 450, 595, 405, 0, 5050)
    assert context.currency == "JPY"
    monkeypatch.setitem(app.config, "PRICES_INCLUDE_TAX", True)
    # Inclusive: ¥4,050 − round(4,050 / 1.1 = 3,681.8) = ¥368 inside.
    assert totals([(1500, 3)], "JP", None, "TEN")[0] == (4500, 450, 0, 0, 368, 4050)
    # A yen amount off is whole yen: FIVER takes ¥500.
    assert totals([(1500, 3)], None, None, "FIVER")[0] == (4500, 500, 0, 0, 0, 4000)


def test_refusals_name_their_reason(rules):
    with pytest.raises(DiscountRefused, match=r"^minimum order is \$50\.00$"):
        totals([(4999, 1)], code="BIGSPEND")
    with pytest.raises(DiscountRefused, match="^unknown code$"):
        totals([(4999, 1)], code="NOPE")
    with pytest.raises(ShippingUnavailable, match="Express does not deliver"):
        totals([(4999, 1)], "GB", "express")
    with pytest.raises(ShippingUnavailable):
        totals([(4999, 1)], "US", "teleport")
