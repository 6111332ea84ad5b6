"""Stock by hand (admin): a reason, a ledger row naming who, and no unit lost to a race."""

import pytest
from sqlalchemy import func, select

from checkout.domain.errors import OutOfStock, StockAdjustmentRefused
from checkout.extensions import db
from checkout.models import Cart, Order, Stock, StockMovement, User
from checkout.models.inventory import MovementReason
from checkout.services import inventory, products
from checkout.services.accounts import create_staff
from checkout.services.checkout import ShippingDetails, place_order
from tests.conftest import csrf_token
from tests.factories import CartFactory, ProductFactory
from tests.staff.admin_support import assert_refused, race
from tests.state import text_of

DETAILS = ShippingDetails(email="shopper@example.com", name="Ada Shopper", line1="1 Main Street",
                          line2="", city="Springfield", postal_code="12345", country="US")


# A claim on stock that lost the race fairly.
REFUSED = (OutOfStock, StockAdjustmentRefused)


def _stock(product_id: int) -> tuple[int, int]:
    row = db.session.execute(
        select(Stock.on_hand, Stock.held).where(Stock.product_id == product_id)
    ).one()
    return row.on_hand, row.held


def _ledger_sum(product_id: int) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(StockMovement.delta), 0))
        .where(StockMovement.product_id == product_id)
    )


def _adjust(client, product_id: int, mode: str, quantity: str, reason: str = "cycle count"):
    path = f"/staff/products/{product_id}/stock"
    return client.post(path, data={"csrf_token": csrf_token(client, path), "mode": mode,
                                   "quantity": quantity, "reason": reason})


def test_adding_and_counting_stock_write_ledger_rows_shown_newest_first_with_who(app, admin):
    with app.app_context():
        product_id = ProductFactory(sku="MUG", on_hand=10).id
    assert _adjust(admin, product_id, "delta", "5", "delivery from the potter").status_code == 303
    assert _adjust(admin, product_id, "count", "12", "shelf count").status_code == 303
    with app.app_context():
        assert _stock(product_id) == (12, 0)
        rows = db.session.scalars(select(StockMovement).order_by(StockMovement.id)).all()
        admin_id = db.session.scalar(select(User.id).where(User.email == "admin@example.com"))
        assert [(r.delta, r.reason, r.note, r.user_id) for r in rows] == [
            (5, MovementReason.ADJUSTMENT, "delivery from the potter", admin_id),
            (-3, MovementReason.ADJUSTMENT, "shelf count", admin_id),
        ]
    page = text_of(admin.get(f"/staff/products/{product_id}/stock"))
    assert page.index("shelf count") < page.index("delivery from the potter")
    assert "-3" in page and "+5" in page and "admin@example.com" in page


def test_the_ledger_is_paginated(app, admin, ctx):
    product_id = ProductFactory(sku="MUG", on_hand=0).id
    staff = create_staff("boss@example.com", "a-long-enough-password", admin=True)
    for n in range(30):
        products.adjust_stock(product_id, delta=1, reason=f"unit {n:02d}", user=staff)
    first = text_of(admin.get(f"/staff/products/{product_id}/stock"))
    second = text_of(admin.get(f"/staff/products/{product_id}/stock?page=2"))
    assert "unit 29" in first and "unit 05" in first and "unit 04" not in first
    assert "unit 04" in second and "unit 00" in second and "unit 29" not in second
    assert "Page 1 of 2" in first


@pytest.mark.parametrize("mode,quantity,message", [
    ("delta", "-4", "On hand cannot go below the 3 units held"),
    ("count", "2", "On hand cannot go below the 3 units held"),
    ("delta", "-6", "On hand cannot go below the 3 units held"),
    ("delta", "0", "That leaves the stock as it is"),
    ("count", "5", "That leaves the stock as it is"),
    ("delta", "abc", "Not a valid integer value."),
    ("delta", "99999999", "Enter at most 10,000,000 units."),
    ("sideways", "1", "Not a valid choice"),
])
def test_a_change_below_what_is_held_or_nonsense_is_refused_and_writes_nothing(
        app, admin, mode, quantity, message):
    with app.app_context():
        product = ProductFactory(sku="MUG", on_hand=5)
        cart_id = CartFactory(items=[(product, 3)]).id
        place_order(db.session.get(Cart, cart_id), DETAILS, "tok-" + "h" * 20, None)
        product_id = product.id
    assert_refused(app, lambda: _adjust(admin, product_id, mode, quantity), message)


def test_a_change_without_a_reason_is_refused(app, admin):
    with app.app_context():
        product_id = ProductFactory(sku="MUG", on_hand=5).id
    assert_refused(app, lambda: _adjust(admin, product_id, "delta", "1", reason="  "),
                   "Say why the stock changes")


def _orders_holding_two(product_id: int, count: int) -> list[int]:
    """Place `count` orders that each hold two units of the product; return their ids."""
    product = db.session.get(Stock, product_id).product
    order_ids = [
        place_order(db.session.get(Cart, CartFactory(items=[(product, 2)]).id), DETAILS,
                    f"tok-sale-{n:02d}-{'s' * 12}", None).id
        for n in range(count)
    ]
    db.session.remove()
    return order_ids


def _sell(order_id: int) -> None:
    """What a payment does to stock: the order's hold becomes a sale."""
    inventory.convert_holds(db.session.get(Order, order_id), actor="test")
    db.session.commit()


def test_adjustments_racing_sales_lose_no_unit(app, ctx):
    product_id = ProductFactory(sku="MUG", on_hand=40).id
    admin_id = create_staff("boss@example.com", "a-long-enough-password", admin=True).id
    order_ids = _orders_holding_two(product_id, 10)

    def take_one():
        products.adjust_stock(product_id, delta=-1, reason="breakage",
                              user=db.session.get(User, admin_id))

    errors = race(app, REFUSED, [lambda o=o: _sell(o) for o in order_ids] + [take_one] * 10)
    assert errors == []
    # 40 on hand, 20 sold, 10 broken: every change counted, none overwritten.
    assert _stock(product_id) == (10, 0)
    assert _ledger_sum(product_id) == 10 - 40
    assert db.session.scalar(select(func.count()).select_from(StockMovement).where(
        StockMovement.reason == MovementReason.ADJUSTMENT)) == 10


def test_counts_racing_sales_are_recomputed_not_overwritten(app, ctx):
    product_id = ProductFactory(sku="MUG", on_hand=40).id
    admin_id = create_staff("boss@example.com", "a-long-enough-password", admin=True).id
    order_ids = _orders_holding_two(product_id, 8)

    def count(n):
        products.adjust_stock(product_id, count=30 - n, reason=f"count {n}",
                              user=db.session.get(User, admin_id))

    errors = race(app, REFUSED, [lambda o=o: _sell(o) for o in order_ids]
                   + [lambda n=n: count(n) for n in range(4)])
    assert errors == []
    on_hand, held = _stock(product_id)
    assert held == 0
    # The ledger adds up to the shelf: each count's row is the difference from what was
    # really there when it landed, sales included.
    assert _ledger_sum(product_id) == on_hand - 40
    sales = db.session.scalar(select(func.count()).select_from(StockMovement).where(
        StockMovement.reason == MovementReason.SALE))
    assert sales == 8


def test_adjustments_racing_holds_never_take_stock_below_what_is_held(app, ctx):
    product = ProductFactory(sku="LAST", on_hand=10)
    product_id = product.id
    admin_id = create_staff("boss@example.com", "a-long-enough-password", admin=True).id
    cart_ids = [CartFactory(items=[(product, 1)]).id for _ in range(10)]
    db.session.remove()

    def shop(index):
        place_order(db.session.get(Cart, cart_ids[index]), DETAILS,
                    f"race-hold-{index:02d}-{'r' * 12}", None)

    def take_one():
        products.adjust_stock(product_id, delta=-1, reason="damaged",
                              user=db.session.get(User, admin_id))

    errors = race(app, REFUSED, [lambda i=i: shop(i) for i in range(10)] + [take_one] * 10)
    assert errors == []
    on_hand, held = _stock(product_id)
    adjustments = -sum(db.session.scalars(select(StockMovement.delta).where(
        StockMovement.reason == MovementReason.ADJUSTMENT)))
    orders = db.session.scalar(select(func.count()).select_from(Order))
    # Ten units, twenty claims: each unit went to exactly one hold or one adjustment.
    assert held == orders and on_hand == 10 - adjustments
    assert orders + adjustments == 10 and on_hand >= held


def test_the_service_refuses_a_change_without_a_reason_too(app, ctx):
    product_id = ProductFactory(sku="MUG", on_hand=5).id
    user = create_staff("boss@example.com", "a-long-enough-password", admin=True)
    with pytest.raises(StockAdjustmentRefused, match="Say why"):
        products.adjust_stock(product_id, delta=1, reason=" ", user=user)
    assert _stock(product_id) == (5, 0) and _ledger_sum(product_id) == 0
