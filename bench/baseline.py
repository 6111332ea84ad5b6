"""The ceiling each scenario is held against: a minimal Flask app doing the least it could do.

Hello; a template page as big as the shop's catalog page; an order and its line inserted in one
transaction; a conditional stock decrement with an order insert. It runs under the same
gunicorn settings (gunicorn.conf.py) on the same kind of database as the shop, so the shop's
figures are ratios measured in the same minute on the same machine.
"""

import os

from flask import Flask, render_template, request
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
    update,
)

metadata = MetaData()
bench_order = Table(
    "bench_order", metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False),
    Column("total", Integer, nullable=False),
)
bench_line = Table(
    "bench_line", metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", ForeignKey("bench_order.id"), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Integer, nullable=False),
)
bench_item = Table(
    "bench_item", metadata,
    Column("id", Integer, primary_key=True),
    Column("stock", Integer, nullable=False),
)


def make_engine(url: str):
    """An engine set up as the shop's: pooled per thread; on SQLite WAL and BEGIN IMMEDIATE."""
    options = {}
    if url.startswith("postgresql") or url.startswith("sqlite:///"):
        threads = int(os.environ.get("GUNICORN_THREADS") or 8)
        options = {"pool_size": threads, "max_overflow": 10}
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _cards_for(app: Flask, page_bytes: int) -> list[dict]:
    """As many product cards as make the page `page_bytes` long (weighed once, at start)."""
    cards = [{"id": n, "title": f"Product {n}", "price": f"{n * 3 + 10}.00"}
             for n in range(1000)]
    with app.app_context():
        one = len(render_template("baseline_page.html", cards=cards[:1]).encode())
        two = len(render_template("baseline_page.html", cards=cards[:2]).encode())
    card = max(1, two - one)
    return cards[:max(1, min(len(cards), 1 + (page_bytes - one) // card))]


def create_app() -> Flask:
    """The baseline app on BENCH_BASELINE_DATABASE_URL, its page BENCH_PAGE_BYTES long."""
    app = Flask(__name__)
    engine = make_engine(os.environ["BENCH_BASELINE_DATABASE_URL"])
    page_bytes = int(os.environ.get("BENCH_PAGE_BYTES") or 5000)
    cards = _cards_for(app, page_bytes)

    @app.get("/hello")
    def hello():
        """Answer the smallest response there is."""
        return "Hello"

    @app.get("/page")
    def page():
        """Render a template page as big as the shop's catalog page."""
        return render_template("baseline_page.html", cards=cards)

    @app.post("/insert")
    def insert_order():
        """Insert an order and its one line in one transaction."""
        with engine.begin() as conn:
            order_id = conn.execute(
                insert(bench_order).values(email="bench@example.com", total=2400)
            ).inserted_primary_key[0]
            conn.execute(insert(bench_line).values(order_id=order_id, sku="MUG", quantity=1,
                                                   unit_price=2400))
        return "", 201

    @app.post("/decrement/<int:item_id>")
    def decrement(item_id: int):
        """Take one unit if one is left (one conditional UPDATE) and record the order."""
        with engine.begin() as conn:
            taken = conn.execute(
                update(bench_item).where(bench_item.c.id == item_id, bench_item.c.stock >= 1)
                .values(stock=bench_item.c.stock - 1)
            ).rowcount
            if not taken:
                return "sold out", 409
            conn.execute(insert(bench_order).values(
                email=request.form.get("email", "bench@example.com"), total=2400))
        return "", 201

    return app


app = create_app() if "BENCH_BASELINE_DATABASE_URL" in os.environ else None
