"""The payment ledger: status tables pinned edge by edge, refunds never above what was captured."""

import itertools
import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from checkout.domain.errors import InvalidTransition, RefundNotAllowed
from checkout.domain.outcomes import Outcome
from checkout.domain.payment_status import (
    ATTEMPT_TRANSITIONS,
    PAYMENT_TRANSITIONS,
    REFUND_TRANSITIONS,
    AttemptStatus,
    PaymentStatus,
    RefundStatus,
)
from checkout.extensions import db
from checkout.models import (
    CheckoutAttempt,
    Order,
    OrderEvent,
    OrderFlag,
    Payment,
    Refund,
    WebhookEvent,
)
from checkout.models.order import EventKind
from checkout.models.payment import RefundReason
from checkout.payments import RefundInfo
from checkout.services import refunds
from tests.shop import place_and_get_session
from tests.state import only_order
from tests.test_webhooks import post_event

A, P, R = AttemptStatus, PaymentStatus, RefundStatus

# Written out by hand from the rules, so that a wrong edge in the tables fails here.
ATTEMPT_EDGES = {
    (A.CREATING, A.OPEN), (A.CREATING, A.COMPLETE), (A.CREATING, A.EXPIRED),
    (A.OPEN, A.COMPLETE), (A.OPEN, A.EXPIRED),
    (A.EXPIRED, A.COMPLETE),
}
PAYMENT_EDGES = {
    (P.PROCESSING, P.SUCCEEDED), (P.PROCESSING, P.FAILED),
    (P.SUCCEEDED, P.PARTIALLY_REFUNDED), (P.SUCCEEDED, P.REFUNDED),
    (P.PARTIALLY_REFUNDED, P.SUCCEEDED), (P.PARTIALLY_REFUNDED, P.REFUNDED),
    (P.REFUNDED, P.SUCCEEDED), (P.REFUNDED, P.PARTIALLY_REFUNDED),
}
REFUND_EDGES = {
    (R.PENDING, R.SUCCEEDED), (R.PENDING, R.FAILED), (R.PENDING, R.CANCELED),
    (R.SUCCEEDED, R.FAILED),
}


def _edges(table) -> set:
    return {(a, b) for a, targets in table.items() for b in targets}


@pytest.mark.parametrize(
    ("table", "statuses", "edges"),
    [
        (ATTEMPT_TRANSITIONS, AttemptStatus, ATTEMPT_EDGES),
        (PAYMENT_TRANSITIONS, PaymentStatus, PAYMENT_EDGES),
        (REFUND_TRANSITIONS, RefundStatus, REFUND_EDGES),
    ],
    ids=["attempt", "payment", "refund"],
)
def test_each_status_table_holds_exactly_the_legal_edges(table, statuses, edges):
    assert set(table) == set(statuses)
    assert _edges(table) == edges


def _row(kind: str, status):
    if kind == "attempt":
        return CheckoutAttempt(idempotency_key="k-1", status=status, url="https://pay")
    if kind == "payment":
        return Payment(checkout_session_id="cs_1", status=status)
    return Refund(idempotency_key="r-1", status=status)


CASES = [
    (kind, a, b)
    for kind, statuses, edges in (
        ("attempt", AttemptStatus, ATTEMPT_EDGES),
        ("payment", PaymentStatus, PAYMENT_EDGES),
        ("refund", RefundStatus, REFUND_EDGES),
    )
    for a, b in itertools.product(statuses, statuses)
    if a != b
]


@pytest.mark.parametrize(("kind", "current", "new"), CASES,
                         ids=[f"{k}:{a}->{b}" for k, a, b in CASES])
def test_a_row_moves_only_along_a_legal_edge(kind, current, new):
    edges = {"attempt": ATTEMPT_EDGES, "payment": PAYMENT_EDGES, "refund": REFUND_EDGES}[kind]
    row = _row(kind, current)
    if (current, new) in edges:
        assert row.move_to(new) is True
        assert row.status == new
    else:
        with pytest.raises(InvalidTransition) as raised:
            row.move_to(new)
        assert row.status == current
        assert str(current) in str(raised.value) and str(new) in str(raised.value)


def test_a_closed_attempt_has_no_payment_page():
    attempt = _row("attempt", A.OPEN)
    attempt.move_to(A.EXPIRED)
    assert attempt.url is None


@pytest.fixture
def paid_order(app, client, sandbox, products):
    """An order paid by card through the sandbox and confirmed by its webhook."""
    session_id = place_and_get_session(client, products["MUG"], 2)
    assert sandbox.pay(session_id).ok
    sandbox.deliver_pending()
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        assert payment.status == PaymentStatus.SUCCEEDED
        return payment.order_id, payment.id, payment.amount


def _refund(app, amount: int, key: str) -> int:
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        order = db.session.get(Order, payment.order_id)
        refund = refunds.record_refund(
            order, payment, amount, reason=RefundReason.REQUESTED_BY_CUSTOMER, key=key,
            actor="staff@example.com",
        )
        db.session.commit()
        return refund.id


def test_a_refund_request_is_counted_sent_and_confirmed(app, sandbox, paid_order):
    _, _, amount = paid_order
    _refund(app, 1000, "refund-1")
    with app.app_context():
        assert refunds.send_unsent() == 1
        refund = db.session.scalar(select(Refund))
        assert refund.status == RefundStatus.SUCCEEDED
        payment = db.session.scalar(select(Payment))
        assert (payment.amount_refunded, payment.status) == (1000, PaymentStatus.PARTIALLY_REFUNDED)
    [made] = sandbox.events("refund.created")
    assert made["data"]["object"]["metadata"]["refund_request"] == "refund-1"
    assert made["data"]["object"]["amount"] == 1000
    assert amount == 4800


def test_the_same_refund_request_twice_is_one_refund(app, sandbox, paid_order):
    first = _refund(app, 1000, "refund-1")
    assert _refund(app, 1000, "refund-1") == first
    with app.app_context():
        assert refunds.send_unsent() == 1
        assert db.session.scalar(select(Payment)).amount_refunded == 1000
    assert len(sandbox.events("refund.created")) == 1


@pytest.mark.parametrize("amount", [0, -5, 4801])
def test_a_refund_of_nothing_or_of_more_than_was_captured_is_refused(app, paid_order, amount):
    with pytest.raises(RefundNotAllowed) as refused:
        _refund(app, amount, "too-much")
    if amount > 0:
        assert str(refused.value) == "Only $48.00 of this payment is left to refund."
    with app.app_context():
        assert db.session.scalars(select(Refund)).all() == []
        assert db.session.scalar(select(Payment)).amount_refunded == 0


def test_the_database_refuses_to_count_more_refunded_than_captured(app, paid_order):
    with app.app_context(), pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE payment SET amount_refunded = amount + 1"))
        db.session.commit()


def test_two_refunds_at_once_cannot_both_take_the_last_of_the_money(app, paid_order):
    barrier = threading.Barrier(6)
    results: list[str] = []

    def ask(n: int) -> None:
        barrier.wait()
        try:
            _refund(app, 3000, f"racer-{n}")
            results.append("ok")
        except RefundNotAllowed:
            results.append("refused")

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok"] + ["refused"] * 5
    with app.app_context():
        assert db.session.scalar(select(Payment)).amount_refunded == 3000
        assert len(db.session.scalars(select(Refund)).all()) == 1


def _refund_event(sandbox, type_: str) -> dict:
    return sandbox.events(type_)[-1]


def test_a_refund_failure_the_provider_does_not_confirm_changes_nothing(
    app, client, sandbox, paid_order
):
    """A signed refund.updated saying failed, for a refund the provider says succeeded."""
    _refund(app, 4800, "refund-all")
    with app.app_context():
        refunds.send_unsent()
    created = _refund_event(sandbox, "refund.created")
    failed = {**created, "id": "evt_failed_later", "type": "refund.updated",
              "data": {"object": {**created["data"]["object"], "status": "failed",
                                  "failure_reason": "expired_or_canceled_card"}}}
    assert post_event(client, failed).status_code == 200
    with app.app_context():
        refund = db.session.scalar(select(Refund))
        assert (refund.status, refund.failure_reason) == (RefundStatus.SUCCEEDED, None)
        payment = db.session.scalar(select(Payment))
        assert (payment.amount_refunded, payment.status) == (4800, PaymentStatus.REFUNDED)
        assert db.session.scalars(select(OrderFlag)).all() == []
        detail = db.session.scalar(
            select(WebhookEvent.detail).where(WebhookEvent.event_id == "evt_failed_later"))
        assert detail == "the event said failed (the provider says succeeded)"


def test_a_refund_made_outside_the_shop_is_recorded_once(app, client, sandbox, paid_order):
    order_id, _, _ = paid_order
    gateway = app.extensions["payments"]
    with app.app_context():
        intent = db.session.scalar(select(Payment)).payment_intent_id
    # Staff refund part of it on the provider's dashboard: no request of ours behind it.
    made = gateway.client.v1.refunds.create(params={"payment_intent": intent, "amount": 800})
    event = _refund_event(sandbox, "refund.created")
    assert event["data"]["object"]["id"] == made.id
    assert post_event(client, event).status_code == 200
    assert post_event(client, {**event, "id": "evt_again"}).status_code == 200
    with app.app_context():
        [refund] = db.session.scalars(select(Refund))
        assert (refund.reason, refund.amount, refund.provider_refund_id) == (
            RefundReason.EXTERNAL, 800, made.id)
        assert db.session.scalar(select(Payment)).amount_refunded == 800
        events = db.session.scalars(
            select(OrderEvent).where(OrderEvent.order_id == order_id,
                                     OrderEvent.kind == EventKind.PAYMENT)
        ).all()
        assert [(e.text, e.amount, e.currency) for e in events][-1] == (
            "Refunded $8.00 outside the shop.", 800, "USD")


def test_a_refund_event_for_a_payment_we_do_not_know_is_unmatched(app, paid_order):
    with app.app_context():
        outcome = refunds.apply_refund(
            RefundInfo(id="re_other", amount=100, status="succeeded",
                       payment_intent="pi_not_ours", failure_reason=None, request_key=None),
            actor="stripe",
        )
        db.session.commit()
        assert outcome == Outcome.UNMATCHED
        assert db.session.scalars(select(Refund)).all() == []


def test_timeline_amounts_are_integers_with_their_currency(app, paid_order):
    order_id, _, _ = paid_order
    with app.app_context():
        [received] = db.session.scalars(
            select(OrderEvent).where(OrderEvent.message.like("Payment of%"))
        ).all()
        assert (received.amount, received.currency) == (4800, "USD")
        assert "{amount}" in received.message and received.text == "Payment of $48.00 received."
    assert only_order(app).id == order_id
