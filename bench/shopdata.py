"""Setting the served shop up for a scenario, through its own services and models, from an app
on the shop's database inside the bench process (as the served tests do)."""

import json
import secrets
from datetime import timedelta

from flask import Flask
from sqlalchemy import func, insert, select

from bench.servers import ADMIN_EMAIL, SECRET_KEY, Stack
from checkout import create_app
from checkout.db import now_utc
from checkout.extensions import db
from checkout.models import (
    Cart,
    CartLine,
    CheckoutAttempt,
    Order,
    OrderLine,
    OutboxMessage,
    Product,
    Stock,
    User,
)
from checkout.models.inventory import MovementReason
from checkout.services import inventory, notifications
from checkout.services.notifications import deliver_due
from checkout.services.products import ProductDetails, create_product
from checkout.web.links import order_link


def admin_app(stack: Stack, smtp_port: int) -> Flask:
    """An app on the shop's database; its mail goes to the bench's SMTP sink."""
    return create_app({
        "SQLALCHEMY_DATABASE_URI": stack.dbs.shop,
        "SECRET_KEY": SECRET_KEY,
        "PAYMENTS": "sandbox",
        "STRIPE_API_BASE": stack.proxy.base,
        "SANDBOX_DATABASE_URL": stack.shop_env["SANDBOX_DATABASE_URL"],
        "SANDBOX_BACKGROUND": False,
        "PUBLIC_BASE_URL": stack.shop.base,
        "HUEY_DATABASE": str(stack.folder / "bench-huey.sqlite"),
        "MAIL_DIR": str(stack.folder / "mail"),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_port,
        "SMTP_STARTTLS": False,
        "RATELIMIT_ENABLED": False,
    })


def plentiful_products(app: Flask, count: int = 3) -> list[tuple[int, str]]:
    """`count` active products, each given a million more units: (id, slug)."""
    with app.app_context():
        products = db.session.execute(
            select(Product.id, Product.slug).where(Product.is_active.is_(True))
            .order_by(Product.price.desc()).limit(count)).all()
        for product_id, _ in products:
            inventory.restock(product_id, 1_000_000, reason=MovementReason.RESTOCK,
                              note="bench: plenty for every shopper")
        db.session.commit()
        return [(product_id, slug) for product_id, slug in products]


def new_product(app: Flask, units: int, tag: str) -> int:
    """A new product with `units` in stock (the flash sale's: a fresh one each run)."""
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.email == ADMIN_EMAIL))
        sku = f"BENCH-{tag}".upper()
        product = create_product(
            ProductDetails(title=f"Flash sale {tag}", description="One day only.", price=1900,
                           sku=sku, slug=f"flash-{tag}".lower()),
            None, units, admin)
        return product.id


def carts(app: Flask, count: int, product_ids: list[int]) -> list[str]:
    """`count` guest carts, each with one unit of every product listed; their tokens."""
    tokens = [secrets.token_urlsafe(24) for _ in range(count)]
    now = now_utc()
    with app.app_context():
        for start in range(0, count, 500):
            chunk = tokens[start:start + 500]
            db.session.execute(insert(Cart), [
                {"token": token, "created_at": now, "updated_at": now} for token in chunk])
            ids = dict(db.session.execute(
                select(Cart.token, Cart.id).where(Cart.token.in_(chunk))).all())
            db.session.execute(insert(CartLine), [
                {"cart_id": ids[token], "product_id": product_id, "quantity": 1}
                for token in chunk for product_id in product_ids])
        db.session.commit()
    return tokens


def stock_check(app: Flask, product_id: int) -> dict[str, int | list[str]]:
    """The flash sale's product after the rush, and the inventory invariant's complaints."""
    with app.app_context():
        stock = db.session.get(Stock, product_id)
        orders = db.session.scalar(
            select(func.count(func.distinct(OrderLine.order_id)))
            .where(OrderLine.product_id == product_id))
        result = {"on_hand": stock.on_hand, "held": stock.held, "orders": orders,
                  "invariant_problems": inventory.check_invariant()}
        db.session.remove()
        return result


def order_count(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count(Order.id)))
        db.session.remove()
        return count


def add_orders(app: Flask, total: int) -> None:
    """Bring the shop to `total` orders with made-up ones of one line each, spread over a year
    (the staff list's scenario: 100 orders, then 100,000)."""
    with app.app_context():
        have = db.session.scalar(select(func.count(Order.id)))
        now = now_utc()
        for start in range(have, total, 5000):
            numbers = [f"BN{n:08d}" for n in range(start, min(total, start + 5000))]
            rows = [{
                "number": number, "checkout_token": f"bench-{number}", "status": "expired",
                "payment_method": "card", "email": f"shopper{n % 5000}@example.com",
                "ship_name": f"Shopper {n}", "ship_line1": "1 Main St", "ship_line2": "",
                "ship_city": "Springfield", "ship_postal_code": "12345", "ship_country": "US",
                "currency": "USD", "subtotal": 2400, "discount": 0, "shipping": 0, "tax": 0,
                "tax_included": 0, "total": 2400,
                "created_at": now - timedelta(minutes=n % 525_600),
                "updated_at": now - timedelta(minutes=n % 525_600),
            } for n, number in zip(range(start, start + len(numbers)), numbers, strict=True)]
            db.session.execute(insert(Order), rows)
            ids = dict(db.session.execute(
                select(Order.number, Order.id).where(Order.number.in_(numbers))).all())
            db.session.execute(insert(OrderLine), [
                {"order_id": ids[number], "product_id": None, "sku": "BENCH-MUG",
                 "title": "Stoneware Mug", "unit_price": 2400, "quantity": 1,
                 "line_total": 2400} for number in numbers])
            db.session.commit()
        db.session.remove()


def latest_order_number(app: Flask) -> str:
    with app.app_context():
        number = db.session.scalar(select(Order.number).order_by(Order.id.desc()))
        db.session.remove()
        return number


def latest_session_params(app: Flask) -> dict:
    """The Checkout Session parameters the shop sent for its newest order."""
    with app.app_context():
        params = db.session.scalar(select(CheckoutAttempt.params)
                                   .order_by(CheckoutAttempt.id.desc()))
        db.session.remove()
    if params is None:
        raise RuntimeError("no checkout attempt in the shop: place an order first")
    return json.loads(params)


def order_page_path(app: Flask, number: str) -> str:
    """The order's page with its guest token, as the shopper's e-mail links to it."""
    with app.app_context(), app.test_request_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        path = order_link(order)
        db.session.remove()
        return path


def pending_mail(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count(OutboxMessage.id))
                                  .where(OutboxMessage.status == "pending"))
        db.session.remove()
        return count


def drain_outbox(app: Flask) -> int:
    """Send every due message, as the job worker does; return how many went out."""
    with app.app_context():
        sent = deliver_due()
        db.session.remove()
        return sent


def fill_outbox(app: Flask, count: int, tag: str) -> None:
    """`count` order confirmations, copies of a real one, waiting in the outbox."""
    with app.app_context():
        model = db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.template == "order_confirmed").order_by(OutboxMessage.id.desc()))
        if model is None:
            raise RuntimeError("no order confirmation to copy: run the webhook scenario first")
        context = json.loads(model.context)
        for n in range(count):
            notifications.enqueue(f"bench-{tag}-{n}", "order_confirmed",
                                  f"shopper{n}@example.com", context)
        # The app's job queue is a file no worker reads: only the bench drains this outbox.
        db.session.commit()
        db.session.remove()
