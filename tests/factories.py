"""factory_boy factories for the shop's rows: products with stock, carts, orders, payments.

They write through Flask-SQLAlchemy's `db.session` and commit, like the services do: the tests
commit for real (the concurrency tests need it) and conftest empties every table after each
test. Call them inside an app context (the `ctx` fixture, or `with app.app_context():`).

Rows come out as the shop itself would write them: order lines snapshot their product and
satisfy the CHECK constraints (`line_total = unit_price * quantity`), an order's totals come
from its lines, a payment is for its order's total. A status is set as given, without walking
the state machine: a factory builds a starting point, it does not replay history.
"""

from datetime import timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory

from checkout.db import now_utc
from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import (
    Cart,
    CartLine,
    CheckoutAttempt,
    Order,
    OrderLine,
    Payment,
    Product,
    Stock,
)
from checkout.models.payment import AttemptStatus, PaymentStatus


class _Factory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        # Looked up at each call, so the session is the one of the app context in use.
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class ProductFactory(_Factory):
    """A product for sale with `on_hand` units in stock (none held)."""

    class Meta:
        model = Product

    class Params:
        on_hand = 10

    sku = factory.Sequence(lambda n: f"SKU-{n}")
    slug = factory.LazyAttribute(lambda o: o.sku.lower())
    title = factory.LazyAttribute(lambda o: f"Product {o.sku}")
    description = "A thing."
    image = "img/products/placeholder.svg"
    price = 2500
    is_active = True
    stock = factory.LazyAttribute(lambda o: Stock(on_hand=o.on_hand, held=0))


class CartFactory(_Factory):
    """A guest cart holding `items`: a list of (product, quantity)."""

    class Meta:
        model = Cart

    class Params:
        items = ()

    token = factory.Sequence(lambda n: f"cart-token-{n:04d}-{'x' * 12}")
    lines = factory.LazyAttribute(
        lambda o: [CartLine(product=product, quantity=quantity) for product, quantity in o.items]
    )


class OrderLineFactory(_Factory):
    """An order line snapshotting its product at the product's current price."""

    class Meta:
        model = OrderLine
        exclude = ("product",)

    product = factory.SubFactory(ProductFactory)
    product_id = factory.SelfAttribute("product.id")
    sku = factory.SelfAttribute("product.sku")
    title = factory.SelfAttribute("product.title")
    unit_price = factory.SelfAttribute("product.price")
    quantity = 1
    line_total = factory.LazyAttribute(lambda o: o.unit_price * o.quantity)


def _lines(order) -> list[OrderLine]:
    items = order.items if order.items is not None else [(ProductFactory(), 1)]
    return [OrderLineFactory.build(product=product, quantity=quantity)
            for product, quantity in items]


class OrderFactory(_Factory):
    """An order of `items` (a list of (product, quantity); default one new product) in `status`.

    Its totals are computed from its lines: subtotal = Σ line_total, total = subtotal −
    discount + shipping + tax. It holds no stock: give it a hold with
    `inventory.hold_stock(order, …)` when a test needs one.
    """

    class Meta:
        model = Order

    class Params:
        items = None

    checkout_token = factory.Sequence(lambda n: f"checkout-token-{n:04d}-{'x' * 12}")
    status = OrderStatus.PENDING_PAYMENT
    email = factory.Faker("email", safe=True)
    ship_name = factory.Faker("name")
    ship_line1 = factory.Faker("street_address")
    ship_line2 = ""
    ship_city = factory.Faker("city")
    ship_postal_code = factory.Faker("postcode")
    ship_country = "US"
    currency = "USD"
    lines = factory.LazyAttribute(_lines)
    subtotal = factory.LazyAttribute(lambda o: sum(line.line_total for line in o.lines))
    discount = 0
    shipping = 0
    tax = 0
    total = factory.LazyAttribute(lambda o: o.subtotal - o.discount + o.shipping + o.tax)


class CheckoutAttemptFactory(_Factory):
    """A Checkout Session request of `order` that got an open session."""

    class Meta:
        model = CheckoutAttempt
        exclude = ("order",)

    order = factory.SubFactory(OrderFactory)
    order_id = factory.SelfAttribute("order.id")
    number = 1
    idempotency_key = factory.LazyAttribute(
        lambda o: f"checkout-session-{o.order.number}-{o.number}"
    )
    params = "{}"
    status = AttemptStatus.OPEN
    session_id = factory.Sequence(lambda n: f"cs_test_factory_{n:04d}")
    url = factory.LazyAttribute(lambda o: f"https://checkout.test/pay/{o.session_id}")
    expires_at = factory.LazyFunction(lambda: now_utc() + timedelta(minutes=30))


class PaymentFactory(_Factory):
    """A card payment of its order's total, succeeded; the order defaults to a paid one."""

    class Meta:
        model = Payment
        exclude = ("order",)

    order = factory.SubFactory(OrderFactory, status=OrderStatus.PAYMENT_CONFIRMED)
    order_id = factory.SelfAttribute("order.id")
    provider = "stripe"
    checkout_session_id = factory.Sequence(lambda n: f"cs_test_factory_payment_{n:04d}")
    payment_intent_id = factory.Sequence(lambda n: f"pi_test_factory_{n:04d}")
    amount = factory.SelfAttribute("order.total")
    currency = factory.SelfAttribute("order.currency")
    status = PaymentStatus.SUCCEEDED
    amount_refunded = 0
