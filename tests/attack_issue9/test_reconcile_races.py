"""Attack: two reconciliations at once (the periodic job on two workers, an operator's
`flask reconcile` beside it) while Stripe's late deliveries arrive, on a day of trade."""

import threading
from datetime import timedelta

from sqlalchemy import func, select

from checkout.db import now_utc
from checkout.extensions import db
from checkout.models import OutboxMessage, ReconciliationRun, StockMovement
from checkout.services import inventory, reconciliation
from tests.test_reconciliation import deliver, pay_many, state, stock_up, wipe


def test_two_runs_and_late_deliveries_at_once_end_as_full_delivery_with_nothing_to_report(
    app, client, sandbox
):
    products = stock_up(app)
    pay_many(app, sandbox, products)
    deliver(client, sandbox.events())
    full = state(app)
    with app.app_context():
        movements = db.session.scalar(select(func.count()).select_from(StockMovement))
        mails = db.session.scalar(select(func.count()).select_from(OutboxMessage))
        db.session.remove()

    wipe(app)
    products = stock_up(app)
    pay_many(app, sandbox, products)
    events = sandbox.events()
    since = now_utc() - timedelta(hours=1)
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def run_reconcile() -> None:
        try:
            with app.app_context():
                start.wait()
                reconciliation.reconcile(since, trigger="job")
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def late_deliveries() -> None:
        try:
            start.wait()
            deliver(app.test_client(), events)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run_reconcile), threading.Thread(target=run_reconcile),
               threading.Thread(target=late_deliveries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert state(app) == full
    with app.app_context():
        runs = db.session.scalars(select(ReconciliationRun)).all()
        assert len(runs) == 2
        assert [run.issues for run in runs] == [[], []], [run.issues for run in runs]
        # Each side effect exactly once: stock movements and mails as with full delivery.
        assert db.session.scalar(select(func.count()).select_from(StockMovement)) == movements
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == mails
        assert inventory.check_invariant() == []
        db.session.remove()
