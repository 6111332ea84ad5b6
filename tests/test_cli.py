"""Command-line tasks: the demo catalog, staff accounts, expiring lapsed holds."""

from datetime import timedelta

from sqlalchemy import func, select

from checkout.db import now_utc
from checkout.demo_catalog import PRODUCTS
from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import Order, Product, Stock, StockHold, User
from tests.shop import place_and_get_session


def test_seed_demo_loads_the_catalog_once_and_prints_a_staff_login(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--staff-password", "correct-horse-1"])
    assert first.exit_code == 0, first.output
    assert "Staff login (admin): staff@example.com / correct-horse-1" in first.output
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "0 products added" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Product)) == len(PRODUCTS)
        on_hand = {p.sku: p.stock.on_hand for p in db.session.scalars(select(Product))}
        assert 1 in on_hand.values() and 0 in on_hand.values()
        assert sum(1 for n in on_hand.values() if 1 < n <= 5) >= 2
        staff = db.session.scalar(select(User))
        assert staff.is_admin


def test_create_staff_makes_an_account_that_can_sign_in(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create-staff", "Boss@Example.com", "--password", "a-long-password"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User))
        assert (user.email, user.role) == ("boss@example.com", "staff")
        assert user.check_password("a-long-password")


def test_create_staff_refuses_a_short_password(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create-staff", "a@example.com", "--password", "short"]
    )
    assert result.exit_code != 0
    assert "Use 10 to 200 characters for the password." in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_expire_holds_expires_lapsed_orders_and_their_sessions(app, client, sandbox, products):
    session_id = place_and_get_session(client, products["PEN"], 2)
    with app.app_context():
        for hold in db.session.scalars(select(StockHold)):
            hold.expires_at = now_utc() - timedelta(minutes=1)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["expire-holds"])
    assert result.exit_code == 0 and "Expired 1 orders." in result.output
    assert sandbox.retrieve_session(session_id)["status"] == "expired"
    with app.app_context():
        assert db.session.scalar(select(Order)).status == OrderStatus.EXPIRED
        assert db.session.get(Stock, products["PEN"]).held == 0


def test_the_periodic_job_expires_lapsed_orders(app, client, sandbox, products):
    place_and_get_session(client, products["PEN"], 1)
    with app.app_context():
        for hold in db.session.scalars(select(StockHold)):
            hold.expires_at = now_utc() - timedelta(minutes=1)
        db.session.commit()
    # The test app runs queued tasks at once (JOBS_IMMEDIATE); the consumer runs them on time.
    app.extensions["jobs"]["expire_lapsed_holds"]()
    with app.app_context():
        assert db.session.scalar(select(Order.status)) == OrderStatus.EXPIRED
        assert db.session.get(Stock, products["PEN"]).held == 0


def test_seed_demo_refuses_a_short_staff_password_with_a_message(app):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--staff-password", "short"])
    assert result.exit_code == 2
    assert "Use 10 to 200 characters for the password." in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        # Nothing half-done: the catalog was not loaded either.
        assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_create_staff_with_admin_makes_an_admin(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create-staff", "root@example.com", "--password", "a-long-password",
              "--admin"]
    )
    assert result.exit_code == 0 and "(admin)" in result.output, result.output
    with app.app_context():
        assert db.session.scalar(select(User)).is_admin
