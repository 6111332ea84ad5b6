"""A late payment that revives an expired order counts its code's use again, or flags it."""

from sqlalchemy import select

from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import DiscountCode, DiscountRedemption, Order, OrderFlag
from checkout.models.order import FlagCode
from checkout.services import fulfilment
from tests.shop import add_to_cart, session_id_of, submit_checkout
from tests.test_discounts import apply_code, make_code


def _place_with_code(client, product_id: int, code: str, email: str) -> str:
    assert add_to_cart(client, product_id, 1).status_code == 303
    assert apply_code(client, code).status_code == 303
    return session_id_of(submit_checkout(client, email=email))


def _expire_unpaid(app) -> None:
    """The sweeper's expiry of an order whose hold lapsed: its code's use is given back."""
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.email == "ada@example.com"))
        fulfilment.expire(order, None, actor="sweeper")
        db.session.commit()
        db.session.remove()


def _state(app) -> dict:
    with app.app_context():
        code = db.session.scalar(select(DiscountCode))
        orders = {o.email: o for o in db.session.scalars(select(Order))}
        state = {
            "uses": code.uses,
            "redeemed_by": sorted(db.session.scalars(
                select(Order.email).join(DiscountRedemption,
                                         DiscountRedemption.order_id == Order.id)
            )),
            "status": {email: o.status for email, o in orders.items()},
            "discount": {email: o.discount for email, o in orders.items()},
            "flags": [(f.code, f.detail) for f in db.session.scalars(select(OrderFlag))],
        }
        db.session.remove()
        return state


def test_a_late_payment_counts_the_use_again_when_one_is_left(app, client, sandbox, products):
    make_code(app, "LATE", amount_off=300, max_uses=1)
    session_id = _place_with_code(client, products["MUG"], "LATE", "ada@example.com")
    assert sandbox.pay(session_id).ok
    _expire_unpaid(app)
    assert _state(app)["uses"] == 0

    assert all(d.ok for d in sandbox.deliver_pending())
    state = _state(app)
    assert state["status"] == {"ada@example.com": OrderStatus.PAYMENT_CONFIRMED}
    assert (state["uses"], state["redeemed_by"], state["flags"]) == (1, ["ada@example.com"], [])
    # A redelivered completion counts nothing more.
    assert sandbox.deliver_pending() == []
    assert _state(app)["uses"] == 1


def test_a_late_payment_after_the_last_use_went_elsewhere_is_confirmed_and_flagged(
    app, client, sandbox, products
):
    make_code(app, "LATE", amount_off=300, max_uses=1)
    session_id = _place_with_code(client, products["MUG"], "LATE", "ada@example.com")
    assert sandbox.pay(session_id).ok
    _expire_unpaid(app)
    # Another shopper takes the use the expired order gave back.
    other = app.test_client()
    _place_with_code(other, products["MUG"], "LATE", "bo@example.com")
    assert _state(app)["uses"] == 1

    assert all(d.ok for d in sandbox.deliver_pending())
    state = _state(app)
    # The money is real: the order is confirmed at the price it was placed at…
    assert state["status"]["ada@example.com"] == OrderStatus.PAYMENT_CONFIRMED
    assert state["discount"] == {"ada@example.com": 300, "bo@example.com": 300}
    # …but the code's uses never pass its maximum (the CHECK holds) and staff are told.
    assert (state["uses"], state["redeemed_by"]) == (1, ["bo@example.com"])
    [(code, detail)] = state["flags"]
    assert code == FlagCode.DISCOUNT_OVER_LIMIT
    assert "LATE" in detail and "no uses left" in detail and "$3.00" in detail
