"""The factories write rows the shop itself could have written, and the database accepts them."""

from sqlalchemy import select

from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import Cart, Order, OrderLine, Payment, Stock
from checkout.models.payment import PaymentStatus
from tests.factories import CartFactory, OrderFactory, PaymentFactory, ProductFactory


def test_a_product_comes_with_the_stock_asked_for(app, ctx):
    product = ProductFactory(on_hand=7, price=1999)
    db.session.remove()
    stock = db.session.get(Stock, product.id)
    assert (stock.on_hand, stock.held, stock.product.price) == (7, 0, 1999)


def test_a_cart_holds_its_lines(app, ctx):
    mug, pen = ProductFactory(), ProductFactory()
    cart_id = CartFactory(items=[(mug, 2), (pen, 1)]).id
    db.session.remove()
    lines = db.session.get(Cart, cart_id).lines
    assert [(line.product.sku, line.quantity) for line in lines] == [(mug.sku, 2), (pen.sku, 1)]


def test_an_orders_lines_snapshot_its_products_and_its_totals_add_up(app, ctx):
    mug = ProductFactory(price=2400, title="Stoneware Mug")
    pen = ProductFactory(price=1250)
    order_id = OrderFactory(
        items=[(mug, 3), (pen, 2)], shipping=500, tax=300, discount=200,
        status=OrderStatus.AWAITING_SHIPMENT,
    ).id
    db.session.remove()
    order = db.session.get(Order, order_id)
    assert [(line.sku, line.title, line.unit_price, line.quantity, line.line_total)
            for line in order.lines] == [
        (mug.sku, "Stoneware Mug", 2400, 3, 7200),
        (pen.sku, pen.title, 1250, 2, 2500),
    ]
    assert [line.product_id for line in order.lines] == [mug.id, pen.id]
    assert (order.subtotal, order.total) == (9700, 9700 - 200 + 500 + 300)
    assert order.status == OrderStatus.AWAITING_SHIPMENT


def test_an_order_without_items_gets_one_line_of_a_new_product(app, ctx):
    order = OrderFactory()
    [line] = db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))
    assert line.product_id is not None
    assert order.total == line.line_total == line.unit_price


def test_a_payment_is_for_its_paid_orders_total(app, ctx):
    payment = PaymentFactory()
    db.session.remove()
    payment = db.session.scalar(select(Payment))
    order = db.session.get(Order, payment.order_id)
    assert order.status == OrderStatus.PAYMENT_CONFIRMED
    assert (payment.amount, payment.currency) == (order.total, order.currency)
    assert (payment.status, payment.amount_refunded) == (PaymentStatus.SUCCEEDED, 0)
