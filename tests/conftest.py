"""Shared fixtures: one app and database per test session, wiped clean between tests.

Tests commit for real (the concurrency tests need it), so each test starts from empty tables
rather than rolling back. TEST_DATABASE_URL chooses PostgreSQL; the default is a SQLite file.
"""

import os
import re
from collections.abc import Iterator

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from checkout import create_app
from checkout.extensions import db
from checkout.services import inventory
from tests.factories import ProductFactory

BASE_URL = "http://shop.test"


def _wipe_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL") or ""
    if url.startswith("postgresql"):
        _wipe_postgres(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'checkout.sqlite'}"


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory) -> Iterator[Flask]:
    sandbox_dir = tmp_path_factory.mktemp("sandbox")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "PAYMENTS": "sandbox",
            "SANDBOX_DATABASE_URL": f"sqlite:///{sandbox_dir / 'sandbox.sqlite'}",
            "SANDBOX_BACKGROUND": False,
            "JOBS_IMMEDIATE": True,
            "MAIL_DIR": str(tmp_path_factory.mktemp("mail")),
            "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
            "PDF_CACHE_DIR": str(tmp_path_factory.mktemp("pdf-cache")),
            "SMTP_HOST": None,
            "PUBLIC_BASE_URL": BASE_URL,
            "SANDBOX_WEBHOOK_URL": f"{BASE_URL}/webhooks/stripe",
            "STORE_CURRENCY": "USD",
            "CHECKOUT_HOLD_MINUTES": 30,
            "LATE_PAYMENT_POLICY": "flag",
            # Tests post many times from one client; the rate-limit tests build their own app.
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
    _refuse_provider_calls_inside_a_transaction(app)
    yield app
    with app.app_context():
        db.engine.dispose()
    sandbox = app.extensions.get("sandbox")
    if sandbox is not None and hasattr(sandbox, "close"):
        sandbox.close()


def _refuse_provider_calls_inside_a_transaction(app: Flask) -> None:
    """Fail any test in which the shop calls the provider with a database transaction open.

    Services promise: one transaction decides, the call runs with none open, another records
    the answer. A call made inside a transaction would hold row locks across the network.
    """
    gateway = app.extensions["payments"]
    real_call = gateway._call

    def guarded(what, fn, *args, **kwargs):
        if has_app_context() and db.session().in_transaction():
            raise AssertionError(f"provider call ({what}) made inside a database transaction")
        return real_call(what, fn, *args, **kwargs)

    gateway._call = guarded


TABLES_CHILD_FIRST = [
    "credit_note", "invoice_line", "invoice", "document_sequence", "refund_request", "refund_line",
    "webhook_event", "refund", "payment", "checkout_attempt", "stock_hold", "stock_movement",
    "discount_redemption", "discount_code", "shipping_option", "tax_rule", "order_event",
    "order_flag", "order_line", '"order"', "cart_line", "cart", "stock", "product", "address",
    '"user"',
    "outbox_message", "reconciliation_run",
]


@pytest.fixture(autouse=True)
def _clean_database(request) -> Iterator[None]:
    """After every shop test: check the inventory invariant, then empty every table."""
    if "sandbox" in request.node.path.parts:  # the sandbox suite has its own app and store
        yield
        return
    app = request.getfixturevalue("app")
    yield
    app.extensions["sandbox"].reset()
    with app.app_context():
        db.session.remove()
        problems = inventory.check_invariant()
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(TABLES_CHILD_FIRST)} RESTART IDENTITY"))
            else:
                for table in TABLES_CHILD_FIRST:
                    conn.execute(text(f"DELETE FROM {table}"))
    assert problems == [], f"inventory invariant broken: {problems}"


@pytest.fixture
def ctx(app) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def sandbox(app):
    return app.extensions["sandbox"]


@pytest.fixture
def products(app) -> dict[str, int]:
    """Three products: plenty, low stock, one of a kind; returns sku → id."""
    with app.app_context():
        made = [
            ProductFactory(sku="MUG", price=2400, on_hand=20, title="Stoneware Mug"),
            ProductFactory(sku="PEN", price=1250, on_hand=3, title="Brass Pen"),
            ProductFactory(sku="VASE", price=9900, on_hand=1, title="Hand-thrown Vase"),
        ]
        ids = {p.sku: p.id for p in made}
        db.session.remove()
    return ids


def csrf_token(client: FlaskClient, path: str = "/account/login") -> str:
    """Fetch a page with a form and return its CSRF token (tests send real tokens)."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)



@pytest.fixture
def admin(app):
    """A browser signed in as an admin (the back-office tests' own, in tests/staff/conftest.py)."""
    from tests.staff.conftest import _account  # imported here: that module reads this one

    return _account(app, "admin@example.com", "admin")


@pytest.fixture
def make_app(tmp_path) -> Iterator:
    """Apps of their own on a fresh, unmigrated SQLite file in the test's folder (the session's
    `app` is migrated and shared): `make_app(**settings)`; each is closed after the test."""
    made: list[Flask] = []

    def make(**settings) -> Flask:
        app = create_app({
            "TESTING": True,
            "SECRET_KEY": "own-app-test-key",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / f'own-{len(made)}.sqlite'}",
            "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite'}",
            "SANDBOX_BACKGROUND": False,
            "HUEY_DATABASE": str(tmp_path / "huey.sqlite"),
            "MAIL_DIR": str(tmp_path / "mail"),
            **settings,
        })
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()
        app.extensions["sandbox"].close()
