"""SQL statements per request do not grow with the number of lines (issue 11).

Counted with an engine listener (tests/sql_support.py): every statement the shop's engine sends
but transaction control, an executemany counting once, and every commit. The sandbox has its
own engine and is not counted. The same journey is played with 1, 10 and 50 cart lines.
"""

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Cart, CartLine, Order, ShippingOption, TaxRule
from checkout.services import pricing
from checkout.services.orders import access_token
from tests.conftest import TABLES_CHILD_FIRST
from tests.factories import ProductFactory
from tests.shop import add_to_cart, checkout_form, session_id_of, submit_checkout
from tests.sql_support import StatementLog, statements
from tests.webhook_torture_support import bodies, post

SIZES = (1, 10, 50)
# The bound for the checkout POST: the order, its lines, holds and payment page.
CHECKOUT_STATEMENTS = 12
CHECKOUT_COMMITS = 2


@dataclass
class Journey:
    cart: StatementLog
    checkout: StatementLog
    webhook: StatementLog
    order: StatementLog


def _play(app, client, sandbox, lines: int) -> Journey:
    """Fill a cart with `lines` products, check out, pay, deliver the webhook, see the order.

    The shop is priced as a real one is (and as `make bench`'s demo shop): a shipping method
    the shopper picks and a sales tax for their country.
    """
    with app.app_context():
        db.session.add_all([
            ShippingOption(code="standard", name="Standard", amount=595, countries="US"),
            TaxRule(country="US", name="Sales tax", percentage="8.875"),
        ])
        products = [ProductFactory(sku=f"L{lines}-{i}", price=500 + i, on_hand=100)
                    for i in range(lines)]
        ids = [p.id for p in products]
        db.session.commit()
        # The shop's first checkout to a country makes its tax rate at the provider: once,
        # not per order (pricing.publish_tax_rates). The orders after it are what is counted.
        pricing.publish_tax_rates("US")
        db.session.remove()
    added = add_to_cart(client, ids[0], 2)
    assert added.status_code == 303
    with app.app_context():
        cart = db.session.scalar(select(Cart))
        db.session.add_all(CartLine(cart_id=cart.id, product_id=pid, quantity=1 + i % 3)
                           for i, pid in enumerate(ids[1:]))
        db.session.commit()
        db.session.remove()

    with statements(app) as cart_page:
        page = client.get("/cart/")
    assert page.status_code == 200

    hidden = checkout_form(client)
    with statements(app) as placing:
        placed = submit_checkout(client, hidden, shipping_method="standard")
    session_id = session_id_of(placed)

    assert sandbox.pay(session_id).ok
    [completed] = [body for body in bodies(sandbox) if b'"checkout.session.completed"' in body]
    with statements(app) as webhook:
        assert post(client, completed).status_code == 200

    with app.app_context():
        order = db.session.scalar(select(Order))
        assert order.status == "payment_confirmed" and len(order.lines) == lines
        url = f"/orders/{order.number}?t={access_token(order)}"
        db.session.remove()
    with statements(app) as order_page:
        page = client.get(url)
    assert page.status_code == 200
    return Journey(cart_page, placing, webhook, order_page)


@pytest.fixture
def journeys(app, sandbox) -> dict[int, Journey]:
    played = {}
    for size in SIZES:
        played[size] = _play(app, app.test_client(), sandbox, size)
        sandbox.reset()
        _empty(app)
    return played


def _empty(app) -> None:
    """Start the next journey from an empty shop, as the suite's own cleanup does."""
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in TABLES_CHILD_FIRST:
                conn.exec_driver_sql(f"DELETE FROM {table}")


def _counts(journeys: dict[int, Journey], path: str) -> dict[int, int]:
    return {size: getattr(j, path).count for size, j in journeys.items()}


@pytest.mark.parametrize("path", ["cart", "checkout", "webhook", "order"])
def test_statements_per_request_do_not_grow_with_the_lines(journeys, path):
    counts = _counts(journeys, path)
    logs = {size: getattr(j, path) for size, j in journeys.items()}
    assert len(set(counts.values())) == 1, (
        f"{path}: statements by cart lines {counts}\n--- 1 line:\n{logs[1].summary()}"
        f"\n--- 10 lines:\n{logs[10].summary()}"
    )
    commits = {size: log.commits for size, log in logs.items()}
    assert len(set(commits.values())) == 1, f"{path}: commits by cart lines {commits}"


def test_the_checkout_post_runs_at_most_twelve_statements_and_two_commits(journeys):
    for size, journey in journeys.items():
        log = journey.checkout
        assert log.count <= CHECKOUT_STATEMENTS, (
            f"{size} lines: {log.count} statements\n{log.summary()}")
        assert log.commits <= CHECKOUT_COMMITS, f"{size} lines: {log.commits} commits"


@pytest.mark.parametrize("path", ["checkout", "webhook"])
def test_no_update_is_sent_once_per_line(journeys, path):
    # An executemany counts as one statement above, yet it updates the rows one by one.
    batched = {size: getattr(j, path).batched for size, j in journeys.items()}
    assert all(not sent for sent in batched.values()), f"{path}: {batched}"
