"""Models and migrations stay in step, and the migrations build the schema from empty."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from checkout.extensions import db


def test_models_and_migrations_do_not_drift(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_downgrade_to_empty_and_upgrade_again(app):
    with app.app_context():
        downgrade(revision="base")
        with db.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade()
        with db.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
        assert {"order", "stock", "stock_hold", "webhook_event"} <= tables


def test_upgrading_a_database_that_holds_data_keeps_it(app):
    """SQLite rebuilds a table to drop a column; rows that point at it must not stop that."""
    from sqlalchemy import text

    with app.app_context():
        downgrade(revision="8c9270f7e171")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO product (id, sku, slug, title, description, price, currency,"
                " is_active, created_at) VALUES (1, 'A', 'a', 'A', '', 100, 'USD', true,"
                " '2026-01-01 00:00:00+00:00')"
            ))
            conn.execute(text("INSERT INTO stock (product_id, on_hand, held) VALUES (1, 5, 0)"))
        upgrade()
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT sku, price FROM product")).all() == [("A", 100)]
            assert conn.execute(text("SELECT on_hand FROM stock")).scalar_one() == 5
            if conn.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
                assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            conn.execute(text("DELETE FROM stock"))
            conn.execute(text("DELETE FROM product"))
