"""`flask seed-demo` prices its catalog and shipping in the store currency's own minor units."""

import pytest
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Product, ShippingOption
from checkout.services.demo import demo_amount, load_demo_catalog, load_demo_pricing


@pytest.mark.parametrize(("currency", "standard", "free_above", "express", "mug"), [
    ("USD", 595, 7500, 1495, 2400),      # $5.95, free from $75.00, $14.95; mug $24.00
    ("EUR", 595, 7500, 1495, 2400),      # the same figures in euros
    ("JPY", 600, 7500, 1500, 2400),      # no minor unit: ¥600, ¥7,500, ¥1,500; mug ¥2,400
    ("KWD", 5950, 75000, 14950, 24000),  # three decimals: KWD 5.950 … mug KWD 24.000
])
def test_seed_demo_prices_are_right_for_the_store_currency(
    app, monkeypatch, currency, standard, free_above, express, mug
):
    monkeypatch.setitem(app.config, "STORE_CURRENCY", currency)
    with app.app_context():
        load_demo_catalog()
        load_demo_pricing(prices_include_tax=False)
        methods = {m.code: (m.amount, m.free_above)
                   for m in db.session.scalars(select(ShippingOption))}
        mug_price = db.session.scalar(select(Product.price).where(Product.sku == "FH-MUG-01"))
        db.session.remove()
    assert methods == {"standard": (standard, free_above), "express": (express, None)}
    assert mug_price == mug


def test_a_demo_figure_in_a_zero_decimal_currency_is_rounded_up_to_a_whole_hundred():
    assert [demo_amount(cents, "JPY") for cents in (1, 100, 101, 595, 11800)] == [
        100, 100, 200, 600, 11800]
