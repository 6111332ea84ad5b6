"""Adversarial tests of the refund ledger: out-of-order, hostile and concurrent refund events.

Each test shows a defect an attack on the ledger found, written before its fix.
"""

import copy
import os
import threading

import pytest
from sqlalchemy import select

from checkout.domain.errors import RefundNotAllowed
from checkout.domain.payment_status import PaymentStatus, RefundStatus
from checkout.extensions import db
from checkout.models import CreditNote, Order, Payment, Refund, WebhookEvent
from checkout.models.payment import RefundReason
from checkout.services import refunds
from tests.test_refund_events import FAILS_LATER, _paid
from tests.test_webhooks import post_event

# Row locks and concurrent writers are what these races are about: SQLite has one writer.
postgres_only = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="a race between two writers needs PostgreSQL")


def _status_of_post(client, event) -> int:
    """The HTTP status the shop answers; an exception escaping the view is a 500."""
    try:
        return post_event(client, event).status_code
    except Exception:  # noqa: BLE001 - TESTING propagates what a server would turn into a 500
        return 500


def _payment_state(app) -> tuple[int, str]:
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        return payment.amount_refunded, payment.status


def _refund_event(sandbox, payment, made: int, **changes) -> dict:
    """A refund.created event as Stripe would sign it for a dashboard refund, then altered."""
    sandbox.dashboard_refund(payment.payment_intent_id, amount=made)
    [event] = sandbox.events("refund.created")[-1:]
    forged = copy.deepcopy(event)
    forged["id"] = f"{event['id']}_forged"
    forged["data"]["object"]["id"] = f"{event['data']['object']['id']}_forged"
    forged["data"]["object"].update(changes)
    return forged



def test_refund_failed_arriving_before_refund_created_is_stale_not_a_500(
    app, client, sandbox, products
):
    _paid(app, client, sandbox, products, card=FAILS_LATER)
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        order = db.session.get(Order, payment.order_id)
        refunds.record_refund(order, payment, 1000, reason=RefundReason.REQUESTED_BY_CUSTOMER,
                              key="refund-5126", actor="staff@example.com")
        db.session.commit()
        assert refunds.send_unsent() == 1
        # As if the send's answer was lost (a crash): the events come later, in any order.
        db.session.execute(Refund.__table__.update().values(
            status=RefundStatus.PENDING, provider_refund_id=None))
        db.session.commit()
    sandbox.run_due()  # the 5126 refund fails now; nothing is delivered yet
    [created] = sandbox.events("refund.created")
    [failed] = sandbox.events("refund.failed")
    assert created["data"]["object"]["status"] == "succeeded"
    assert _status_of_post(client, failed) == 200
    # Stripe promises no order: the creation snapshot (succeeded) arrives last.
    assert _status_of_post(client, created) == 200
    assert _payment_state(app) == (0, PaymentStatus.SUCCEEDED)



def test_a_refund_event_with_an_unknown_status_is_handled_not_a_500(
    app, client, sandbox, products
):
    payment = _paid(app, client, sandbox, products)
    event = _refund_event(sandbox, payment, 500, status="garbage")
    status = _status_of_post(client, event)
    assert status == 200  # recorded as ignored: a status Stripe may add is no reason to retry
    with app.app_context():
        # The forged refund must not have been counted.
        assert db.session.scalar(
            select(Refund).where(Refund.provider_refund_id.like("%_forged"))) is None



def test_a_refund_event_with_a_malformed_payment_intent_is_handled_not_a_500(
    app, client, sandbox, products
):
    payment = _paid(app, client, sandbox, products)
    event = _refund_event(sandbox, payment, 500, payment_intent=12345)
    assert _status_of_post(client, event) == 400



def test_a_refund_event_with_a_negative_amount_is_refused_cleanly(
    app, client, sandbox, products
):
    payment = _paid(app, client, sandbox, products)
    sandbox.dashboard_refund(payment.payment_intent_id, amount=800)
    sandbox.deliver_pending()
    assert _payment_state(app) == (800, PaymentStatus.PARTIALLY_REFUNDED)
    event = _refund_event(sandbox, payment, 100, amount=-500)
    assert _status_of_post(client, event) == 400
    assert _payment_state(app)[0] >= 800



def test_a_refund_event_with_a_huge_amount_is_refused_cleanly(
    app, client, sandbox, products
):
    payment = _paid(app, client, sandbox, products)
    event = _refund_event(sandbox, payment, 100, amount=10**20)
    assert _status_of_post(client, event) == 400
    assert _payment_state(app)[0] <= 4800



def test_a_refund_in_another_currency_is_not_counted_as_the_payment_currency(
    app, client, sandbox, products
):
    payment = _paid(app, client, sandbox, products)
    event = _refund_event(sandbox, payment, 100, amount=1000, currency="eur")
    assert _status_of_post(client, event) == 200
    # Counting 1000 EUR cents as 1000 USD cents is wrong; it must be flagged, not counted.
    assert _payment_state(app) == (0, PaymentStatus.SUCCEEDED)



def test_a_flagged_over_limit_refund_failing_later_does_not_uncount_other_refunds(
    app, client, sandbox, products
):
    payment = _paid(app, client, sandbox, products)
    sandbox.dashboard_refund(payment.payment_intent_id, amount=4000)
    sandbox.deliver_pending()
    assert _payment_state(app) == (4000, PaymentStatus.PARTIALLY_REFUNDED)
    over = _refund_event(sandbox, payment, 100, amount=2000)
    assert _status_of_post(client, over) == 200  # flagged: more than is left
    failed = copy.deepcopy(over)
    failed["id"] = over["id"] + "_failed"
    failed["type"] = "refund.failed"
    failed["data"]["object"].update(status="failed", failure_reason="lost_or_stolen_card")
    assert _status_of_post(client, failed) == 200
    # The 4000 refund still stands.
    assert _payment_state(app)[0] == 4000


@postgres_only

def test_the_same_refund_key_asked_twice_at_once_returns_one_refund(
    app, client, sandbox, products
):
    _paid(app, client, sandbox, products)
    barrier = threading.Barrier(2)
    results: list[object] = []

    def ask() -> None:
        with app.app_context():
            payment = db.session.scalar(select(Payment))
            order = db.session.get(Order, payment.order_id)
            barrier.wait()
            try:
                refund = refunds.record_refund(
                    order, payment, 3000, reason=RefundReason.REQUESTED_BY_CUSTOMER,
                    key="same-request", actor="staff@example.com")
                db.session.commit()
                results.append(refund.id)
            except (RefundNotAllowed, Exception) as exc:  # noqa: BLE001
                db.session.rollback()
                results.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and all(isinstance(r, int) for r in results), results
    assert results[0] == results[1]
    assert _payment_state(app)[0] == 3000


@postgres_only

def test_concurrent_refund_created_and_charge_refunded_both_answer_2xx(
    app, client, sandbox, products
):
    payment = _paid(app, client, sandbox, products)
    sandbox.dashboard_refund(payment.payment_intent_id, amount=800)
    events = sandbox.events("refund.created") + sandbox.events("charge.refunded")
    assert len(events) == 2
    statuses: list[int] = []
    for round_ in range(3):
        if round_:
            # Start the race afresh: the same two events, unseen, on an unrefunded payment.
            with app.app_context():
                db.session.execute(WebhookEvent.__table__.delete())
                db.session.execute(CreditNote.__table__.delete())
                db.session.execute(Refund.__table__.delete())
                db.session.execute(Payment.__table__.update().values(
                    amount_refunded=0, status=PaymentStatus.SUCCEEDED))
                db.session.commit()
        barrier = threading.Barrier(2)

        def deliver(event, barrier=barrier) -> None:
            barrier.wait()
            statuses.append(_status_of_post(app.test_client(), event))

        threads = [threading.Thread(target=deliver, args=(e,)) for e in events]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if 500 in statuses:
            break
    assert 500 not in statuses, statuses
    with app.app_context():
        assert [r.status for r in db.session.scalars(select(Refund))] == [RefundStatus.SUCCEEDED]
        assert [n.amount for n in db.session.scalars(select(CreditNote))] == [800]
    assert _payment_state(app)[0] == 800
