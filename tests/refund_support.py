"""Paid orders to refund, placed through the real pages and paid in the sandbox."""

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from checkout.extensions import db
from checkout.models import (
    Order,
    OrderEvent,
    OutboxMessage,
    Payment,
    Refund,
    RefundLine,
    RefundRequest,
    StockMovement,
)
from tests.shop import add_to_cart, session_id_of, submit_checkout
from tests.state import snapshot

GOOD_CARD = "4242424242424242"
# The sandbox's card whose refunds succeed, then fail later (refund.failed).
REFUND_FAILS_LATER = "4000000000005126"


def paid_order(app: Flask, client: FlaskClient, sandbox, items: dict[int, int],
               card: str = GOOD_CARD) -> str:
    """Place an order of `items` (product id → quantity) in `client`, pay it; its number."""
    for product_id, quantity in items.items():
        assert add_to_cart(client, product_id, quantity).status_code == 303
    session_id = session_id_of(submit_checkout(client))
    assert sandbox.pay(session_id, card=card).ok
    sandbox.deliver_pending()
    with app.app_context():
        order = db.session.scalar(select(Order).order_by(Order.id.desc()))
        assert order.status == "payment_confirmed"
        number = order.number
        db.session.remove()
    return number


def line_ids(app: Flask, number: str) -> dict[str, int]:
    """Order line id per SKU."""
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        ids = {line.sku: line.id for line in order.lines}
        db.session.remove()
    return ids


def refunds_of(app: Flask) -> list[tuple[int, str, str]]:
    """(amount, status, reason) of every refund, oldest first."""
    with app.app_context():
        rows = [(r.amount, r.status, r.reason)
                for r in db.session.scalars(select(Refund).order_by(Refund.id))]
        db.session.remove()
    return rows


def payment_of(app: Flask) -> tuple[int, int, str]:
    """(amount, amount_refunded, status) of the only payment."""
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        state = payment.amount, payment.amount_refunded, payment.status
        db.session.remove()
    return state


def ledger_state(app: Flask) -> dict:
    """snapshot() plus everything a refund or a refund request writes."""
    state = snapshot(app)
    with app.app_context():
        for model in (Refund, RefundLine, RefundRequest, StockMovement, OrderEvent,
                      OutboxMessage):
            state[model.__name__] = db.session.scalar(select(func.count()).select_from(model))
        state["payments"] = sorted(
            (p.id, p.amount_refunded, p.status) for p in db.session.scalars(select(Payment))
        )
        db.session.remove()
    return state


def hidden(page: str, name: str) -> str:
    """The value of a hidden field on a page."""
    match = re.search(rf'id="{name}" name="{name}" type="hidden" value="([^"]+)"', page) or \
        re.search(rf'name="{name}" type="hidden" value="([^"]+)"', page)
    assert match, f"no {name} on the page"
    return match.group(1)


def refund_form(client: FlaskClient, number: str) -> dict[str, str]:
    """Open the refund page and return the hidden fields its form carries."""
    page = client.get(f"/staff/orders/{number}/refund").get_data(as_text=True)
    return {"csrf_token": hidden(page, "csrf_token"), "refund_token": hidden(page, "refund_token")}
