"""What the shop holds, in one comparable value: proves that a rejected request changed nothing."""

import html

from flask import Flask
from sqlalchemy import func, select

from checkout.extensions import db
from checkout.models import (
    Cart,
    CartLine,
    CheckoutAttempt,
    DiscountCode,
    DiscountRedemption,
    Order,
    OrderLine,
    Payment,
    Product,
    Stock,
    StockHold,
    User,
)
from checkout.services import orders

COUNTED = (Order, OrderLine, StockHold, CheckoutAttempt, Payment, Cart, CartLine, User,
           DiscountRedemption)


def snapshot(app: Flask) -> dict:
    """Row counts, cart lines and codes, stock levels, holds, code uses and order statuses."""
    with app.app_context():
        state = {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in COUNTED
        }
        state["cart_lines"] = sorted(
            (line.cart_id, line.product_id, line.quantity)
            for line in db.session.scalars(select(CartLine))
        )
        state["stock"] = sorted(
            (s.product_id, s.on_hand, s.held) for s in db.session.scalars(select(Stock))
        )
        state["holds"] = sorted(
            (h.order_id, h.product_id, h.quantity, h.status)
            for h in db.session.scalars(select(StockHold))
        )
        state["discount_uses"] = sorted(
            (c.code, c.uses, c.active) for c in db.session.scalars(select(DiscountCode))
        )
        state["cart_codes"] = sorted(
            (c.id, c.discount_code or "") for c in db.session.scalars(select(Cart))
        )
        state["orders"] = sorted(
            (o.number, o.status, o.total) for o in db.session.scalars(select(Order))
        )
        db.session.remove()
    return state


def text_of(response) -> str:
    """The response body with HTML entities decoded, to search for what a person reads."""
    return html.unescape(response.get_data(as_text=True))


def only_order(app: Flask) -> Order:
    with app.app_context():
        order = db.session.scalar(select(Order))
        db.session.expunge_all()
        return order


def stock_of(app: Flask, product_id: int) -> tuple[int, int]:
    """(on_hand, held) of a product."""
    with app.app_context():
        stock = db.session.get(Stock, product_id)
        levels = stock.on_hand, stock.held
        db.session.remove()
        return levels


def guest_token(app: Flask, number: str) -> str:
    """The signed token a guest's order link carries."""
    with app.app_context():
        order = orders.find_order(number)
        token = orders.access_token(order)
        db.session.remove()
        return token


def change_product(app: Flask, product_id: int, **values) -> None:
    """Set a product's fields (and its stock's `on_hand`) behind the pages' back, committed."""
    with app.app_context():
        product = db.session.get(Product, product_id)
        stock = db.session.get(Stock, product_id)
        for name, value in values.items():
            setattr(stock if name == "on_hand" else product, name, value)
        db.session.commit()
