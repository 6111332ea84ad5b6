"""The Checkout Session request lifecycle, called as services: recover, adopt and expire.

The in-process sandbox plays Stripe. The gateway is wrapped only where a lost answer or an
unreachable provider is the point, since the sandbox always answers.
"""

import dataclasses

import pytest
from sqlalchemy import select

from checkout.domain.errors import GatewayUnavailable, OrderNotPayable
from checkout.domain.order_status import OrderStatus
from checkout.domain.outcomes import Outcome
from checkout.domain.payment_status import AttemptStatus, PaymentStatus
from checkout.extensions import db
from checkout.models import Order, OrderFlag, Payment, WebhookEvent
from checkout.models.order import EventKind
from checkout.payments import CheckoutSessionInfo, gateway
from checkout.services import payment_sessions
from checkout.services.payment_sessions import attempts_of
from tests.payment_sessions_support import (
    COMPLETE,
    CREATING,
    EXPIRED,
    OPEN,
    PAGE_OPENED,
    URLS,
    lose_answers,
    place,
    sandbox_session_ids,
    second_live_attempt,
    stock_now,
    timeline_of,
)


@pytest.mark.parametrize("retried_after_minutes", [0, 10])
def test_a_start_whose_answer_was_lost_is_resent_with_its_key_and_yields_that_session(
    app, ctx, sandbox, products, monkeypatch, retried_after_minutes
):
    order = place(products)
    made = lose_answers(monkeypatch, app)
    with pytest.raises(GatewayUnavailable):
        payment_sessions.start(order, URLS)
    [waiting] = attempts_of(order)
    assert (waiting.status, waiting.session_id) == (CREATING, None)
    assert waiting.last_error == "The payment provider could not be reached."
    monkeypatch.undo()
    # Later, its expires_at would be refused as too close if the request were new; the key
    # makes the provider replay the answer it already gave instead.
    sandbox.advance_clock(retried_after_minutes * 60)

    url = payment_sessions.start(order, URLS)

    [attempt] = attempts_of(order)
    assert (attempt.number, attempt.status, attempt.last_error) == (1, OPEN, None)
    assert attempt.session_id == made[0]
    assert sandbox_session_ids(sandbox) == made
    assert sandbox.retrieve_session(made[0])["url"] == url == attempt.url
    assert timeline_of(order).count(PAGE_OPENED) == 1


def test_expire_live_resends_a_request_whose_answer_was_lost_and_expires_that_session(
    app, ctx, sandbox, products, monkeypatch
):
    order = place(products)
    made = lose_answers(monkeypatch, app)
    with pytest.raises(GatewayUnavailable):
        payment_sessions.start(order, URLS)
    monkeypatch.undo()

    assert payment_sessions.expire_live(order) is True

    [attempt] = attempts_of(order)
    assert (attempt.status, attempt.session_id, attempt.url) == (EXPIRED, made[0], None)
    assert sandbox_session_ids(sandbox) == made
    assert sandbox.retrieve_session(made[0])["status"] == "expired"
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING_PAYMENT
    assert stock_now(products["PEN"]) == (3, 2)


def _request_never_sent_then_aged(app, products, sandbox, monkeypatch) -> Order:
    """An order whose session request never reached the provider, ten minutes ago: its
    expires_at is now under Stripe's 30-minute minimum, so resending it is refused."""
    order = place(products)
    lose_answers(monkeypatch, app, reached=False)
    with pytest.raises(GatewayUnavailable):
        payment_sessions.start(order, URLS)
    monkeypatch.undo()
    sandbox.advance_clock(10 * 60)
    return order


def test_expire_live_gives_up_a_request_that_never_ran_once_the_provider_calls_it_stale(
    app, ctx, sandbox, products, monkeypatch
):
    order = _request_never_sent_then_aged(app, products, sandbox, monkeypatch)

    assert payment_sessions.expire_live(order) is True

    [attempt] = attempts_of(order)
    assert (attempt.status, attempt.session_id) == (EXPIRED, None)
    assert sandbox_session_ids(sandbox) == []


# adopt ---------------------------------------------------------------------------------------


def test_a_webhook_for_a_session_whose_creation_answer_was_lost_adopts_it_and_confirms(
    app, ctx, sandbox, products, monkeypatch
):
    order = place(products, "PEN", 2)
    made = lose_answers(monkeypatch, app)
    with pytest.raises(GatewayUnavailable):
        payment_sessions.start(order, URLS)
    monkeypatch.undo()

    assert sandbox.pay(made[0]).outcome == "succeeded"
    assert all(delivery.ok for delivery in sandbox.deliver_pending())

    db.session.rollback()
    [attempt] = attempts_of(order)
    assert (attempt.status, attempt.session_id) == (COMPLETE, made[0])
    assert db.session.get(Order, order.id).status == OrderStatus.PAYMENT_CONFIRMED
    [payment] = db.session.scalars(select(Payment)).all()
    assert (payment.order_id, payment.checkout_session_id) == (order.id, made[0])
    assert (payment.amount, payment.status) == (2500, PaymentStatus.SUCCEEDED)
    assert db.session.scalar(
        select(WebhookEvent.outcome).where(WebhookEvent.type == "checkout.session.completed")
    ) == Outcome.CONFIRMED
    assert db.session.scalars(select(OrderFlag)).all() == []
    assert stock_now(products["PEN"]) == (1, 0)


def test_adopt_session_ties_a_lost_session_to_the_attempt_its_key_names(
    app, ctx, sandbox, products, monkeypatch
):
    order = place(products)
    made = lose_answers(monkeypatch, app)
    with pytest.raises(GatewayUnavailable):
        payment_sessions.start(order, URLS)
    monkeypatch.undo()
    session = gateway().retrieve_checkout(made[0])

    adopted = payment_sessions.adopt_session(session)
    db.session.commit()

    assert adopted is not None and adopted.id == order.id
    [attempt] = attempts_of(order)
    assert (attempt.status, attempt.session_id) == (OPEN, made[0])
    assert attempt.url == session.url  # "resume" can send the shopper to it again
    assert payment_sessions.find_order_by_session(made[0]).id == order.id


def test_adopting_a_session_that_was_paid_marks_its_attempt_complete(
    app, ctx, sandbox, products, monkeypatch
):
    order = place(products)
    made = lose_answers(monkeypatch, app)
    with pytest.raises(GatewayUnavailable):
        payment_sessions.start(order, URLS)
    monkeypatch.undo()
    assert sandbox.pay(made[0]).ok
    session = gateway().retrieve_checkout(made[0])

    assert payment_sessions.adopt_session(session).id == order.id
    db.session.commit()

    [attempt] = attempts_of(order)
    assert (attempt.status, attempt.session_id, attempt.url) == (
        AttemptStatus.COMPLETE, made[0], None)


def test_adopt_session_refuses_a_session_naming_another_order(
    app, ctx, sandbox, products, monkeypatch
):
    order = place(products, "PEN", 1)
    other = place(products, "MUG", 1)
    made = lose_answers(monkeypatch, app)
    with pytest.raises(GatewayUnavailable):
        payment_sessions.start(order, URLS)
    monkeypatch.undo()
    session = gateway().retrieve_checkout(made[0])
    assert session.metadata["checkout_attempt"] == f"checkout-session-{order.number}-1"
    forged = dataclasses.replace(session, client_reference_id=other.number)

    assert payment_sessions.adopt_session(forged) is None
    db.session.commit()

    [attempt] = attempts_of(order)
    assert (attempt.status, attempt.session_id) == (CREATING, None)
    assert attempts_of(other) == []
    assert payment_sessions.find_order_by_session(made[0]) is None


def test_adopt_session_refuses_a_key_that_is_not_waiting_for_its_answer(ctx, sandbox, products):
    order = place(products)
    payment_sessions.start(order, URLS)
    [attempt] = attempts_of(order)
    db.session.commit()
    mine = gateway().retrieve_checkout(attempt.session_id)
    # Another session carrying the key of a request that already has its session.
    stray = dataclasses.replace(mine, id="cs_test_stray_copy")

    assert payment_sessions.adopt_session(stray) is None
    db.session.commit()

    [attempt] = attempts_of(order)
    assert (attempt.status, attempt.session_id) == (OPEN, mine.id)
    assert payment_sessions.find_order_by_session("cs_test_stray_copy") is None


def test_adopt_session_refuses_the_key_of_a_request_given_up_as_never_sent(
    app, ctx, sandbox, products, monkeypatch
):
    order = _request_never_sent_then_aged(app, products, sandbox, monkeypatch)
    assert payment_sessions.expire_live(order) is True
    [attempt] = attempts_of(order)
    assert (attempt.status, attempt.session_id) == (EXPIRED, None)
    # The provider refused that request, so no session of its can be genuine.
    claimant = CheckoutSessionInfo(
        id="cs_test_claims_a_dead_key", url=None, status="complete", payment_status="paid",
        amount_total=order.total, currency="usd", client_reference_id=order.number,
        payment_intent=None,
        metadata={"order_number": order.number, "checkout_attempt": attempt.idempotency_key},
    )

    assert payment_sessions.adopt_session(claimant) is None
    db.session.commit()

    [attempt] = attempts_of(order)
    assert (attempt.status, attempt.session_id) == (EXPIRED, None)
    assert payment_sessions.find_order_by_session(claimant.id) is None


# expire_live ---------------------------------------------------------------------------------


def test_expire_live_expires_every_open_session_of_the_order(app, ctx, sandbox, products):
    order = place(products)
    payment_sessions.start(order, URLS)
    second_live_attempt(order)

    assert payment_sessions.expire_live(order) is True

    first, second = attempts_of(order)
    assert (first.status, second.status) == (EXPIRED, EXPIRED)
    assert first.url is None and second.url is None
    sessions = sandbox_session_ids(sandbox)
    assert sessions == sorted([first.session_id, second.session_id])
    assert [sandbox.retrieve_session(s)["status"] for s in sessions] == ["expired", "expired"]
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING_PAYMENT
    assert stock_now(products["PEN"]) == (3, 2)
    # Nothing is left live: a second sweep has nothing to do.
    assert payment_sessions.expire_live(order) is False


def test_expire_live_spares_the_latest_request_waiting_to_be_resent(ctx, sandbox, products):
    order = place(products)
    payment_sessions.start(order, URLS)
    second_live_attempt(order)

    assert payment_sessions.expire_live(order, spare_retry=True) is True

    first, second = attempts_of(order)
    assert (first.status, second.status, second.session_id) == (EXPIRED, CREATING, None)
    assert sandbox_session_ids(sandbox) == [first.session_id]
    assert sandbox.retrieve_session(first.session_id)["status"] == "expired"


def test_expire_live_applies_a_session_found_paid_and_raises(app, ctx, sandbox, products):
    order = place(products, "PEN", 2)
    payment_sessions.start(order, URLS)
    [attempt] = attempts_of(order)
    assert sandbox.pay(attempt.session_id).outcome == "succeeded"
    placed = timeline_of(order)

    with pytest.raises(OrderNotPayable):
        payment_sessions.expire_live(order)

    db.session.rollback()
    [attempt] = attempts_of(order)
    assert attempt.status == COMPLETE
    assert sandbox.retrieve_session(attempt.session_id)["status"] == "complete"
    assert db.session.get(Order, order.id).status == OrderStatus.PAYMENT_CONFIRMED
    [payment] = db.session.scalars(select(Payment)).all()
    assert (payment.checkout_session_id, payment.amount) == (attempt.session_id, 2500)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert stock_now(products["PEN"]) == (1, 0)
    assert timeline_of(order) == [
        *placed,
        (EventKind.PAYMENT, "Payment of {amount} received."),
        (EventKind.STOCK, "Stock reserved for shipping."),
        (EventKind.STATUS, "Payment confirmed."),
    ]


def test_expire_live_has_nothing_to_do_for_an_order_without_live_requests(
    ctx, sandbox, products
):
    order = place(products)

    assert payment_sessions.expire_live(order) is False

    assert attempts_of(order) == []
    assert sandbox_session_ids(sandbox) == []
