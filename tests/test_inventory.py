"""Stock holds: one conditional UPDATE each, no oversell under a race, on SQLite and PostgreSQL."""

import threading
from datetime import timedelta

from sqlalchemy import func, select

from checkout.db import now_utc
from checkout.domain.errors import OutOfStock
from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import Cart, Order, Stock, StockHold, StockMovement
from checkout.models.inventory import HoldStatus, MovementReason
from checkout.services import inventory
from checkout.services.checkout import ShippingDetails, place_order
from tests.factories import CartFactory, OrderFactory, ProductFactory

DETAILS = ShippingDetails(
    email="shopper@example.com",
    name="Ada Shopper",
    line1="1 Main Street",
    line2="",
    city="Springfield",
    postal_code="12345",
    country="US",
)


def _stock(product_id: int) -> tuple[int, int]:
    stock = db.session.execute(
        select(Stock.on_hand, Stock.held).where(Stock.product_id == product_id)
    ).one()
    return stock.on_hand, stock.held


def test_placing_an_order_holds_its_stock_and_empties_the_cart(app, ctx):
    product = ProductFactory(sku="A", on_hand=5)
    cart_id = CartFactory(items=[(product, 2)]).id
    order = place_order(db.session.get(Cart, cart_id), DETAILS, "tok-" + "a" * 20, None)
    assert _stock(product.id) == (5, 2)
    [hold] = db.session.scalars(select(StockHold).where(StockHold.order_id == order.id))
    assert (hold.quantity, hold.status) == (2, HoldStatus.ACTIVE)
    assert hold.expires_at > now_utc() + timedelta(minutes=29)
    assert db.session.get(Cart, cart_id).lines == []


def test_a_short_line_creates_nothing_and_names_what_is_left(app, ctx):
    plenty = ProductFactory(sku="A", on_hand=5)
    scarce = ProductFactory(sku="B", on_hand=1, title="Scarce")
    cart = CartFactory(items=[(plenty, 2), (scarce, 3)])
    plenty_id, cart_id = plenty.id, cart.id
    try:
        place_order(cart, DETAILS, "tok-" + "b" * 20, None)
    except OutOfStock as exc:
        [shortage] = exc.shortages
        assert (shortage.title, shortage.requested, shortage.available) == ("Scarce", 3, 1)
    else:
        raise AssertionError("expected OutOfStock")
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    assert db.session.scalar(select(func.count()).select_from(StockHold)) == 0
    assert _stock(plenty_id) == (5, 0)
    assert len(db.session.get(Cart, cart_id).lines) == 2


def test_the_database_refuses_held_beyond_on_hand(app, ctx):
    product = ProductFactory(sku="A", on_hand=1)
    stock = db.session.get(Stock, product.id)
    stock.held = 2
    try:
        db.session.commit()
    except Exception as exc:  # IntegrityError on both databases
        db.session.rollback()
        assert "held" in str(exc).lower() or "check" in str(exc).lower()
    else:
        raise AssertionError("the CHECK constraint let held exceed on_hand")


def test_converting_holds_decrements_on_hand_and_held_together(app, ctx):
    product = ProductFactory(sku="A", on_hand=5)
    order = place_order(
        db.session.get(Cart, CartFactory(items=[(product, 2)]).id), DETAILS, "tok-" + "c" * 20, None
    )
    assert inventory.convert_holds(order, actor="test") is True
    db.session.commit()
    assert _stock(product.id) == (3, 0)
    [sale] = db.session.scalars(select(StockMovement).where(StockMovement.order_id == order.id))
    assert sale.delta == -2


def test_releasing_holds_gives_stock_back(app, ctx):
    product = ProductFactory(sku="A", on_hand=5)
    order = place_order(
        db.session.get(Cart, CartFactory(items=[(product, 4)]).id), DETAILS, "tok-" + "d" * 20, None
    )
    assert inventory.release_holds(order, actor="test") == 4
    db.session.commit()
    assert _stock(product.id) == (5, 0)


def test_twenty_threads_racing_for_the_last_five_units_get_exactly_five_holds(app, ctx):
    product = ProductFactory(sku="LAST", on_hand=5)
    cart_ids = [CartFactory(items=[(product, 1)]).id for _ in range(20)]
    db.session.remove()
    start = threading.Barrier(20)
    won, lost, errors = [], [], []

    def shopper(index: int) -> None:
        with app.app_context():
            try:
                # Wait before touching the database: on SQLite a transaction holds the write
                # lock from its first statement, and holding it here would stall the others.
                start.wait()
                cart = db.session.get(Cart, cart_ids[index])
                place_order(cart, DETAILS, f"race-token-{index:02d}-{'x' * 16}", None)
                won.append(index)
            except OutOfStock:
                lost.append(index)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=shopper, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert (len(won), len(lost)) == (5, 15)
    assert db.session.scalar(select(func.count()).select_from(StockHold)) == 5
    assert db.session.scalar(select(func.count()).select_from(Order)) == 5
    assert _stock(product.id) == (5, 5)


def test_returning_an_orders_sales_never_returns_a_unit_twice(app, ctx):
    product = ProductFactory(on_hand=5)
    order = OrderFactory(status=OrderStatus.PAYMENT_CONFIRMED, items=[(product, 3)])
    inventory.hold_stock(order, inventory.hold_deadline())
    inventory.convert_holds(order, actor="test")
    db.session.commit()
    assert db.session.get(Stock, product.id).on_hand == 2
    # One unit already came back (a refund that restocked a line).
    inventory.restock(product.id, 1, reason=MovementReason.RETURN, order_id=order.id)
    inventory.return_sales(order, note="cancelled")
    inventory.return_sales(order, note="cancelled again")
    db.session.commit()
    assert db.session.get(Stock, product.id).on_hand == 5
