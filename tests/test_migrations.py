"""Models and migrations stay in step, and the migrations build the schema from empty.

These tests downgrade and upgrade, so each gets a database of its own and an app of its own:
a fresh SQLite file, or with TEST_DATABASE_URL on PostgreSQL a database created on that same
server for the test and dropped after it. The session's shared database is never touched.
"""

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from psycopg import sql
from sqlalchemy import inspect, make_url, text

from checkout import create_app
from checkout.extensions import db
from checkout.models.order_search_index import include_name


def _server_url(url: str) -> str:
    """The libpq form of a SQLAlchemy URL (psycopg does not know "+psycopg")."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def migration_database_url(tmp_path: Path) -> Iterator[str]:
    """A database nobody else uses, empty, removed after the test."""
    shared = os.environ.get("TEST_DATABASE_URL") or ""
    if not shared.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    name = f"checkout_migrations_{secrets.token_hex(6)}"
    # CREATE/DROP DATABASE cannot run inside a transaction: autocommit.
    with psycopg.connect(_server_url(shared), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(shared).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_server_url(shared), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


@pytest.fixture
def migrated_app(migration_database_url: str) -> Iterator[Flask]:
    """An app of its own on that database, upgraded to the newest migration."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": migration_database_url,
            # Migrations need no payments: real Stripe's adapter, never called, mounts nothing.
            "PAYMENTS": "stripe",
            "STRIPE_SECRET_KEY": "sk_test_migrations",
            "STRIPE_WEBHOOK_SECRET": "whsec_migrations",
            "JOBS_IMMEDIATE": True,
        }
    )
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []  # really a database of our own
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def _tables(app: Flask) -> set[str]:
    with app.app_context(), db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_models_and_migrations_do_not_drift(migrated_app):
    with migrated_app.app_context(), db.engine.connect() as conn:
        # The search's trigram index lives outside the models (order_search_index.py).
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_name})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_downgrade_to_empty_and_upgrade_again(migrated_app):
    with migrated_app.app_context():
        downgrade(revision="base")
    assert _tables(migrated_app) - {"alembic_version"} == set()
    with migrated_app.app_context():
        upgrade()
    assert {"order", "stock", "stock_hold", "webhook_event"} <= _tables(migrated_app)


def test_upgrading_a_database_that_holds_data_keeps_it(migrated_app):
    """SQLite rebuilds a table to drop a column; rows that point at it must not stop that."""
    with migrated_app.app_context():
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


def test_the_shared_test_database_is_left_alone(app, migrated_app):
    with migrated_app.app_context():
        downgrade(revision="base")
    assert {"order", "stock", "stock_hold", "webhook_event"} <= _tables(app)
