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
from sqlalchemy import select

from checkout.db import now_utc
from checkout.domain.money import minimum_charge
from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import PaymentStatus
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
from checkout.extensions import db
from checkout.models import DiscountCode, Order, Payment, Stock
from checkout.models.order import OrderLine
from checkout.payments.gateway import GatewayRequestRejected
from checkout.services import checkout as checkouts
from checkout.services import discounts, payment_sessions, pricing
from checkout.services.payment_sessions import ReturnUrls, _session_params
from checkout.web.links import return_urls
from tests.conftest import BASE_URL
from tests.factories import CartFactory, ProductFactory

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


def send_and_check(app, sandbox, order: Order, totals: Breakdown) -> None:
    """Send the order's session: Stripe charges its total, or refuses one under its minimum."""
    if 0 < totals.total < minimum_charge(totals.currency):
        with pytest.raises(GatewayRequestRejected, match="must add up to at least"):
            send_session(app, order)
        return
    check_session_matches(sandbox, send_session(app, order), totals)


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
    send_and_check(app, sandbox, order, totals)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    currency=st.sampled_from(["USD", "JPY"]),
    cart=lines_strategy,
    percent=st.decimals(min_value=Decimal("0.01"), max_value=100, places=2),
    cap=st.one_of(st.none(), st.integers(1, 500_000)),
    fee=st.integers(0, 5000),
    free_above=st.one_of(st.none(), st.integers(0, 2_000_000)),
    exclusive=st.lists(percentage, max_size=2, unique=True),
)
def test_the_shops_codes_and_methods_charge_the_orders_total(
    app, sandbox, ctx, provider_objects, currency, cart, percent, cap, fee, free_above, exclusive
):
    """Capped percentages and free-shipping thresholds, built as store_context builds them."""
    lines = [PricedLine(f"SKU{i}", f"Item {i}", unit, qty) for i, (unit, qty) in enumerate(cart)]
    subtotal = sum(line.line_total for line in lines)
    code = DiscountCode(code="CAPPED", percent_off=discounts.plain(percent), cap=cap)
    discount = discounts.as_discount(code, subtotal, currency)
    app.extensions["payments"].create_coupon(
        pricing.coupon_params(discount, currency), discount.provider_coupon_id)
    context = PricingContext(
        currency=currency,
        shipping=ShippingMethod("std", "Standard", pricing.shipping_fee(fee, free_above, subtotal)),
        discount=discount,
        tax_rates=tuple(TaxRate("Tax", p, False, provider_objects.tax_rate(p, False))
                        for p in exclusive),
    )
    order, totals = order_priced(lines, context)
    if cap is not None:
        assert totals.discount <= cap
    send_and_check(app, sandbox, order, totals)


def test_an_order_with_a_coupon_tax_and_shipping_is_paid_and_confirmed_without_a_mismatch(
    app, sandbox
):
    # Worked by hand with Stripe's rules: 2 × 49.99 + 3 × 3.50 = 110.48; 10% off is 11.05,
    # spread 10.00 / 1.05; 8.875% tax on 89.98 and 9.45 is 7.99 + 0.84; ground 7.95 → 116.21.
    client = app.extensions["payments"].client
    coupon = client.v1.coupons.create(params={"percent_off": 10, "duration": "once"})
    rate = client.v1.tax_rates.create(
        params={"display_name": "NY sales tax", "percentage": "8.875", "inclusive": False}
    )
    context = PricingContext(
        currency="USD",
        country="US",
        shipping=ShippingMethod("ground", "Ground", 795),
        discount=Discount("TENOFF", percent_off=Decimal(10), provider_coupon_id=coupon.id),
        tax_rates=(TaxRate("NY sales tax", Decimal("8.875"), False, rate.id),),
    )
    with app.app_context():
        lamp = ProductFactory(sku="LAMP", price=4999, on_hand=5)
        bulb = ProductFactory(sku="BULB", price=350, on_hand=10)
        cart = CartFactory(items=[(lamp, 2), (bulb, 3)])
        details = checkouts.ShippingDetails(
            email="ada@example.com", name="Ada", line1="1 Main St", line2="", city="Albany",
            postal_code="12207", country="US",
        )
        order = checkouts.place_order(cart, details, "seam-token-" + "x" * 20, None, context)
        assert (order.subtotal, order.discount, order.shipping, order.tax, order.total) == (
            11048, 1105, 795, 883, 11621,
        )
        with app.test_request_context():
            urls = return_urls(order)
        url = payment_sessions.start(order, urls)
        db.session.remove()
    session_id = url.rsplit("/", 1)[1]
    session = sandbox.retrieve_session(session_id)
    assert session["amount_total"] == 11621
    assert session["total_details"] == {
        "amount_discount": 1105, "amount_shipping": 795, "amount_tax": 883,
    }

    paid = sandbox.pay(session_id, email="ada@example.com")
    assert paid.ok
    assert sandbox.retrieve_payment_intent(paid.session["payment_intent"])["amount"] == 11621
    deliveries = sandbox.deliver_pending()
    assert deliveries and all(d.ok for d in deliveries)
    with app.app_context():
        order = db.session.scalar(select(Order))
        assert order.status == OrderStatus.PAYMENT_CONFIRMED
        assert order.flags == []
        payment = db.session.scalar(select(Payment))
        assert (payment.status, payment.amount) == (PaymentStatus.SUCCEEDED, 11621)
        db.session.remove()


def test_an_order_discounted_to_nothing_completes_without_payment_and_reserves_its_stock(
    app, sandbox
):
    client = app.extensions["payments"].client
    coupon = client.v1.coupons.create(params={"percent_off": 100, "duration": "once"})
    context = PricingContext(
        currency="USD",
        discount=Discount("ALLFREE", percent_off=Decimal(100), provider_coupon_id=coupon.id),
    )
    with app.app_context():
        lamp = ProductFactory(sku="LAMP", price=4999, on_hand=5)
        cart = CartFactory(items=[(lamp, 2)])
        details = checkouts.ShippingDetails(
            email="ada@example.com", name="Ada", line1="1 Main St", line2="", city="Albany",
            postal_code="12207", country="US",
        )
        order = checkouts.place_order(cart, details, "free-token-" + "x" * 20, None, context)
        assert (order.subtotal, order.discount, order.total) == (9998, 9998, 0)
        with app.test_request_context():
            urls = return_urls(order)
        session_id = payment_sessions.start(order, urls).rsplit("/", 1)[1]
        lamp_id = lamp.id
        db.session.remove()
    paid = sandbox.pay(session_id, email="ada@example.com")
    assert paid.ok
    assert paid.session["payment_status"] == "no_payment_required"
    assert paid.session["payment_intent"] is None
    assert all(d.ok for d in sandbox.deliver_pending())
    with app.app_context():
        order = db.session.scalar(select(Order))
        assert order.status == OrderStatus.PAYMENT_CONFIRMED
        assert order.flags == []
        payment = db.session.scalar(select(Payment))
        assert (payment.status, payment.amount, payment.payment_intent_id) == (
            PaymentStatus.SUCCEEDED, 0, None)
        stock = db.session.get(Stock, lamp_id)
        assert (stock.on_hand, stock.held) == (3, 0)
        db.session.remove()
