"""Payment-page use cases racing each other and the sweeper, run as threads (PostgreSQL too)."""

import threading
from datetime import timedelta

from checkout.db import now_utc
from checkout.domain.errors import DomainError
from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import Order
from checkout.services import inventory, payment_sessions, upkeep
from tests.payment_sessions_support import URLS, place
from tests.state import stock_of


def _race(app, *jobs) -> list[object]:
    """Run each job in its own thread and app context, started together; return results."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(i, job):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = job()
            except DomainError as exc:
                db.session.rollback()
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _open_order_with_a_lapsed_hold(app, products) -> tuple[int, str, int]:
    with app.app_context():
        order = place(products, "PEN", 2)
        payment_sessions.start(order, URLS)
        inventory.set_hold_expiry(order, now_utc() - timedelta(seconds=1))
        db.session.commit()
        [attempt] = payment_sessions.attempts_of(order)
        ids = order.id, attempt.session_id, products["PEN"]
        db.session.remove()
    return ids


def test_resume_racing_the_sweeper_on_a_lapsed_hold_leaves_it_expired_and_unpayable(
    app, sandbox, products
):
    order_id, session_id, pen = _open_order_with_a_lapsed_hold(app, products)

    def resume():
        return payment_sessions.start(db.session.get(Order, order_id), URLS)

    resumed, swept = _race(app, resume, upkeep.expire_lapsed_holds)
    # Whatever the interleaving: the hold lapsed, so resume is refused and the sweeper wins.
    assert isinstance(resumed, DomainError), resumed
    with app.app_context():
        swept_again = upkeep.expire_lapsed_holds()
        order = db.session.get(Order, order_id)
        assert order.status == OrderStatus.EXPIRED
        assert swept + swept_again == 1
        assert inventory.active_holds(order) == []
    assert sandbox.retrieve_session(session_id)["status"] == "expired"
    assert stock_of(app, pen) == (3, 0)


def test_two_tabs_resuming_at_once_share_one_payment_page(app, sandbox, products):
    with app.app_context():
        order = place(products, "MUG", 1)
        order_id = order.id
        db.session.remove()

    def resume():
        return payment_sessions.start(db.session.get(Order, order_id), URLS)

    first, second = _race(app, resume, resume)
    assert isinstance(first, str) and first == second
    with app.app_context():
        attempts = payment_sessions.attempts_of(db.session.get(Order, order_id))
        assert len(attempts) == 1
    assert len(sandbox.list_sessions({})["data"]) == 1
