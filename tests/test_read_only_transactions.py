"""Pages that only read never wait for the writer (issue 11); everything that writes still does.

On SQLite a read page starts a deferred transaction: it reads a WAL snapshot while another
connection holds the write lock (BEGIN IMMEDIATE), where it used to queue behind it for up to
the busy timeout (30 s) and then fail. On PostgreSQL the same holds with the tables locked
against every writer. Writes still begin IMMEDIATE, and a write slipped into a read-only
transaction is refused outright rather than failing only under load.
"""

import threading

import pytest
from sqlalchemy import select, text

from checkout.db import WriteInReadOnlyTransaction
from checkout.extensions import db
from checkout.models import Order, Product
from checkout.services.orders import access_token
from checkout.web.read_only import READS_ONLY_KEY
from tests.shop import add_to_cart, checkout_form, session_id_of, submit_checkout
from tests.sql_support import statements

# The tables every read page reads, locked against writers on PostgreSQL.
LOCKED = ("product", "stock", "cart", "cart_line", '"order"', "order_line", "order_event")


def _shop_with_an_order_and_a_cart(app, client, products) -> dict[str, str]:
    """Place an order, then fill the cart again; return the read pages' addresses."""
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    session_id_of(submit_checkout(client))
    assert add_to_cart(client, products["PEN"], 1).status_code == 303
    with app.app_context():
        order = db.session.scalar(select(Order))
        slug = db.session.get(Product, products["MUG"]).slug
        pages = {
            "catalog": "/",
            "product": f"/products/{slug}",
            "cart": "/cart/",
            "order": f"/orders/{order.number}?t={access_token(order)}",
        }
        db.session.remove()
    return pages


def _holding_the_write_lock(app):
    """Open a connection of our own that holds the database's write lock until closed."""
    with app.app_context():
        conn = db.engine.connect()
    if conn.dialect.name == "sqlite":
        # Our engine's begin hook would say BEGIN IMMEDIATE too; spelled out, it is the point.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE")
    else:
        conn.execute(text(f"LOCK TABLE {', '.join(LOCKED)} IN EXCLUSIVE MODE"))
    return conn


@pytest.mark.parametrize("page", ["catalog", "product", "cart", "order"])
def test_a_read_page_is_served_while_another_connection_holds_the_write_lock(
    app, client, products, page
):
    url = _shop_with_an_order_and_a_cart(app, client, products)[page]
    answers = []
    writer = _holding_the_write_lock(app)
    try:
        reader = threading.Thread(target=lambda: answers.append(client.get(url).status_code))
        reader.start()
        # A page queued behind the lock would wait out the 30 s busy timeout and then fail
        # (SQLite) or wait until the lock goes (PostgreSQL): either way no 200 while it is held.
        reader.join(timeout=120)
        served_under_lock = not reader.is_alive() and answers == [200]
    finally:
        if writer.dialect.name == "sqlite":
            writer.connection.driver_connection.execute("ROLLBACK")
        writer.close()
        reader.join()
    assert served_under_lock, f"{page} answered {answers} only after the writer let go"


def test_read_pages_begin_deferred_and_forms_begin_immediate_on_sqlite(app, client, products):
    if not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        pytest.skip("SQLite's BEGIN mode; PostgreSQL sends no BEGIN of ours")
    pages = _shop_with_an_order_and_a_cart(app, client, products)
    for page, url in pages.items():
        with statements(app) as log:
            assert client.get(url).status_code == 200
        assert log.begins and set(log.begins) == {"BEGIN"}, (page, log.begins)
    hidden = checkout_form(client)
    with statements(app) as log:
        session_id_of(submit_checkout(client, hidden))
    assert log.begins and set(log.begins) == {"BEGIN IMMEDIATE"}, log.begins


def test_a_write_in_a_read_only_request_is_refused_before_it_reaches_sqlite(app, products):
    if not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        pytest.skip("the guard keeps SQLite's deferred transactions read-only; PostgreSQL's "
                    "transactions upgrade safely")
    with app.test_request_context("/", environ_overrides={READS_ONLY_KEY: True}):
        product = db.session.get(Product, products["MUG"])
        product.title = "Changed by a GET"
        with pytest.raises(WriteInReadOnlyTransaction, match="@writes"):
            db.session.flush()
        db.session.rollback()
        db.session.remove()
    with app.app_context():
        assert db.session.get(Product, products["MUG"]).title == "Stoneware Mug"
        db.session.remove()
