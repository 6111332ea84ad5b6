"""The pricing seam: the session the shop sends makes the provider charge the order's total.

Over random carts, discounts, shipping fees and tax rates, the shop prices an order with
`domain.pricing.price`, builds the Checkout Session exactly as `payment_sessions` does, and
sends it through the real gateway (stripe SDK) to the in-process sandbox, which computes the
amounts with Stripe's arithmetic on its own.
"""

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkout.db import now_utc
from checkout.domain.pricing import (
    Breakdown,
    Discount,
    PricedLine,
    PricingContext,
    ShippingMethod,
    TaxRate,
    context_to_dict,
    price,
)
from checkout.models import Order
from checkout.models.order import OrderLine
from checkout.services.payment_sessions import ReturnUrls, _session_params
from tests.conftest import BASE_URL

URLS = ReturnUrls(f"{BASE_URL}/ok?session_id={{CHECKOUT_SESSION_ID}}", f"{BASE_URL}/cancel")


class ProviderObjects:
    """Coupons and tax rates made once per distinct value at the provider, ids cached."""

    def __init__(self, app):
        self.client = app.extensions["payments"].client
        self.ids: dict[tuple, str] = {}

    def coupon(self, currency: str, percent_off: Decimal | None, amount_off: int | None) -> str:
        key = ("coupon", currency if amount_off else None, percent_off, amount_off)
        if key not in self.ids:
            params = (
                {"percent_off": str(percent_off)}
                if percent_off is not None
                else {"amount_off": amount_off, "currency": currency.lower()}
            )
            self.ids[key] = self.client.v1.coupons.create(params={**params, "duration": "once"}).id
        return self.ids[key]

    def tax_rate(self, percentage: Decimal, inclusive: bool) -> str:
        key = ("tax_rate", percentage, inclusive)
        if key not in self.ids:
            self.ids[key] = self.client.v1.tax_rates.create(
                params={"display_name": "Tax", "percentage": str(percentage),
                        "inclusive": inclusive}
            ).id
        return self.ids[key]


def order_priced(lines: list[PricedLine], context: PricingContext) -> tuple[Order, Breakdown]:
    """An order snapshot as place_order makes it: lines, the breakdown's totals, the context."""
    totals = price(lines, context)
    order = Order(
        number=f"T{uuid.uuid4().hex[:8].upper()}", checkout_token=uuid.uuid4().hex,
        email="buyer@example.com", ship_name="A Buyer", ship_line1="1 Main St", ship_city="Town",
        ship_postal_code="12345", ship_country="US", currency=totals.currency,
        subtotal=totals.subtotal, discount=totals.discount, shipping=totals.shipping,
        tax=totals.tax, total=totals.total,
        pricing=json.dumps(context_to_dict(context), sort_keys=True),
    )
    for line in lines:
        order.lines.append(OrderLine(sku=line.sku, title=line.title, unit_price=line.unit_price,
                                     quantity=line.quantity, line_total=line.line_total))
    return order, totals


def send_session(app, order: Order) -> str:
    """Create the order's Checkout Session exactly as the shop does; return its id."""
    key = uuid.uuid4().hex
    params = _session_params(order, now_utc() + timedelta(hours=1), key, URLS)
    return app.extensions["payments"].create_checkout(params, key).id


def provider_context(objects: ProviderObjects, currency: str, discount, shipping,
                     exclusive: list[Decimal], inclusive: Decimal | None) -> PricingContext:
    """A context whose discount and tax rates carry the provider's ids."""
    rates = [TaxRate("Tax", p, False, objects.tax_rate(p, False)) for p in exclusive]
    if inclusive is not None:
        rates.append(TaxRate("VAT", inclusive, True, objects.tax_rate(inclusive, True)))
    if discount is not None:
        kind, value = discount
        percent, amount = (value, None) if kind == "percent" else (None, value)
        discount = Discount("SEAM", percent_off=percent, amount_off=amount,
                            provider_coupon_id=objects.coupon(currency, percent, amount))
    return PricingContext(
        currency=currency,
        shipping=None if shipping is None else ShippingMethod("std", "Standard", shipping),
        discount=discount,
        tax_rates=tuple(rates),
    )


def check_session_matches(sandbox, session_id: str, totals: Breakdown) -> None:
    session = sandbox.retrieve_session(session_id)
    assert session["amount_total"] == totals.total
    assert session["amount_subtotal"] == totals.subtotal
    assert session["total_details"] == {
        "amount_discount": totals.discount,
        "amount_shipping": totals.shipping,
        "amount_tax": totals.tax + totals.tax_included,
    }
    assert totals.total == totals.subtotal - totals.discount + totals.shipping + totals.tax
    assert totals.total >= 0


@pytest.fixture
def provider_objects(app) -> ProviderObjects:
    """One cache per test: hypothesis runs every example inside one fixture setup, and the
    sandbox forgets every object after each test."""
    return ProviderObjects(app)


lines_strategy = st.lists(
    st.tuples(st.integers(0, 100_000), st.integers(1, 99)), min_size=1, max_size=5
)
discount_strategy = st.one_of(
    st.none(),
    st.tuples(st.just("percent"),
              st.decimals(min_value=Decimal("0.01"), max_value=100, places=2)),
    st.tuples(st.just("amount"), st.integers(1, 200_000)),
)
percentage = st.decimals(min_value=0, max_value=100, places=4)


@settings(max_examples=500, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    currency=st.sampled_from(["USD", "JPY"]),
    cart=lines_strategy,
    discount=discount_strategy,
    shipping=st.one_of(st.none(), st.integers(0, 5000)),
    exclusive=st.lists(percentage, max_size=2, unique=True),
    inclusive=st.one_of(st.none(), percentage),
)
def test_the_session_the_shop_sends_charges_the_orders_total(
    app, sandbox, ctx, provider_objects, currency, cart, discount, shipping, exclusive, inclusive
):
    context = provider_context(provider_objects, currency, discount, shipping, exclusive, inclusive)
    lines = [PricedLine(f"SKU{i}", f"Item {i}", unit, qty) for i, (unit, qty) in enumerate(cart)]
    order, totals = order_priced(lines, context)
    check_session_matches(sandbox, send_session(app, order), totals)
