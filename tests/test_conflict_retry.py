"""A unit of work PostgreSQL aborts to break a lock cycle runs once more, from a clean slate."""

import psycopg.errors
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from checkout.domain.order_status import OrderStatus
from checkout.domain.outcomes import Outcome
from checkout.extensions import db
from checkout.models import OutboxMessage, StockHold, StockMovement, WebhookEvent
from checkout.services import inventory
from checkout.services.transactions import lost_a_conflict, retry_once_on_conflict
from tests.shop import add_to_cart, session_id_of, submit_checkout
from tests.state import only_order, stock_of
from tests.test_webhooks import event_of, post_event


def _deadlock() -> OperationalError:
    return OperationalError("UPDATE stock", {}, psycopg.errors.DeadlockDetected("deadlock"))


def _serialization_failure() -> OperationalError:
    return OperationalError("UPDATE stock", {},
                            psycopg.errors.SerializationFailure("could not serialize"))


def _losing(times: int, error):
    calls = []

    @retry_once_on_conflict
    def work() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error()
        return "done"

    return work, calls


@pytest.mark.parametrize("error", [_deadlock, _serialization_failure])
def test_work_that_loses_one_conflict_runs_again_and_succeeds(app, error):
    work, calls = _losing(1, error)
    with app.app_context():
        assert work() == "done"
    assert len(calls) == 2


def test_work_that_loses_twice_in_a_row_gives_up(app):
    work, calls = _losing(2, _deadlock)
    with app.app_context(), pytest.raises(OperationalError):
        work()
    assert len(calls) == 2


def test_other_database_errors_are_not_retried(app):
    unique = IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate key"))
    work, calls = _losing(1, lambda: unique)
    with app.app_context(), pytest.raises(IntegrityError):
        work()
    assert len(calls) == 1
    assert not lost_a_conflict(unique)


def test_a_checkout_chosen_as_deadlock_victim_after_taking_its_holds_is_placed_once(
    app, client, products, monkeypatch
):
    """The first try takes its holds, then loses: its writes roll back and the retry places it."""
    real = inventory.hold_stock
    tries = []

    def hold_then_lose_once(order, expires_at, *lines):
        real(order, expires_at, *lines)
        tries.append(order.id)
        if len(tries) == 1:
            raise _deadlock()

    monkeypatch.setattr(inventory, "hold_stock", hold_then_lose_once)
    before = stock_of(app, products["PEN"])
    assert add_to_cart(client, products["PEN"], 2).status_code == 303
    session_id_of(submit_checkout(client))
    assert len(tries) == 2
    order = only_order(app)
    with app.app_context():
        holds = db.session.scalars(select(StockHold)).all()
        assert [(h.order_id, h.quantity) for h in holds] == [(order.id, 2)]
        assert inventory.check_invariant() == []
    assert stock_of(app, products["PEN"]) == (before[0], before[1] + 2)


def test_a_webhook_chosen_as_deadlock_victim_while_converting_is_applied_once_and_not_failed(
    app, client, sandbox, products, monkeypatch
):
    """The conversion loses after moving stock: rolled back, run again, no failure on record."""
    real = inventory.convert_holds
    tries = []

    def convert_then_lose_once(order, **kwargs):
        complete = real(order, **kwargs)
        tries.append(order.id)
        if len(tries) == 1:
            raise _deadlock()
        return complete

    monkeypatch.setattr(inventory, "convert_holds", convert_then_lose_once)
    assert add_to_cart(client, products["MUG"], 2).status_code == 303
    session_id = session_id_of(submit_checkout(client))
    before = stock_of(app, products["MUG"])
    assert sandbox.pay(session_id).ok
    response = post_event(client, event_of(sandbox, "checkout.session.completed"))
    assert response.status_code == 200
    assert len(tries) == 2
    order = only_order(app)
    assert order.status == OrderStatus.PAYMENT_CONFIRMED
    with app.app_context():
        assert [(e.outcome, e.detail) for e in db.session.scalars(select(WebhookEvent))] == [
            (Outcome.CONFIRMED, "")]
        movements = db.session.scalars(select(StockMovement)
                                       .where(StockMovement.order_id == order.id)).all()
        assert [m.delta for m in movements] == [-2]
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.key.like("staff-alert%"))) == 0
    assert stock_of(app, products["MUG"]) == (before[0] - 2, before[1] - 2)
