"""Races and out-of-order events a review found: each one shown failing before its fix."""

import threading

import pytest
from sqlalchemy import select

from checkout.domain.errors import GatewayUnavailable
from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import AttemptStatus, PaymentStatus, RefundStatus
from checkout.extensions import db
from checkout.models import (
    CartLine,
    CheckoutAttempt,
    Order,
    OrderFlag,
    Payment,
    Refund,
    StockHold,
)
from checkout.models.order import FlagCode
from checkout.services import payment_sessions, upkeep
from tests.conftest import csrf_token
from tests.factories import CheckoutAttemptFactory
from tests.shop import add_to_cart, place_and_get_session, session_id_of, submit_checkout
from tests.state import guest_token, only_order, stock_of
from tests.test_webhooks import post_event


def _post(client, path):
    return client.post(path, data={"csrf_token": csrf_token(client)})


def _pay_urls(app, number: str) -> tuple[str, str]:
    token = guest_token(app, number)
    return f"/checkout/orders/{number}/pay?t={token}", f"/checkout/orders/{number}/cancel?t={token}"


def _attempts(app) -> list[tuple[int, str]]:
    with app.app_context():
        return [(a.number, a.status) for a in db.session.scalars(
            select(CheckoutAttempt).order_by(CheckoutAttempt.number))]


def test_a_bank_debit_failure_delivered_before_its_completion_does_not_hold_stock_forever(
    app, client, sandbox, products
):
    session_id = place_and_get_session(client, products["PEN"], 1)
    assert sandbox.pay(session_id, method="bank_debit").outcome == "processing"
    sandbox.settle_async(session_id, succeeded=False)
    completed = sandbox.events("checkout.session.completed")[-1]
    failed = sandbox.events("checkout.session.async_payment_failed")[-1]
    assert post_event(client, failed).status_code == 200
    assert post_event(client, completed).status_code == 200
    order = only_order(app)
    assert order.status == OrderStatus.PENDING_PAYMENT
    with app.app_context():
        assert [p.status for p in db.session.scalars(select(Payment))] == [PaymentStatus.FAILED]
        [hold] = db.session.scalars(select(StockHold))
        assert hold.expires_at is not None  # the sweeper can still release it


def test_a_resume_landing_between_cancels_expiries_gets_a_session_that_cancel_then_expires(
    app, client, sandbox, products, monkeypatch
):
    first = place_and_get_session(client, products["PEN"], 2)
    number = only_order(app).number
    resume_url, cancel_url = _pay_urls(app, number)
    real = payment_sessions.expire_live
    started, other_tab = threading.Event(), []

    # The seam: cancel has expired the open session and committed, and has not yet looked at
    # the order again. The other tab's resume runs to its end right there (once: the resume
    # goes through this function too).
    def resume_right_after_the_first_expiry(order, **kwargs):
        result = real(order, **kwargs)
        if not started.is_set():
            started.set()
            tab = threading.Thread(
                target=lambda: other_tab.append(_post(app.test_client(), resume_url))
            )
            tab.start()
            tab.join()
        return result

    monkeypatch.setattr(payment_sessions, "expire_live", resume_right_after_the_first_expiry)
    cancelled = _post(client, cancel_url)
    [resumed] = other_tab
    second = session_id_of(resumed)  # the resume won its moment: a fresh payment page
    assert second != first
    assert cancelled.headers["Location"].endswith("/cart/")  # and cancel still cancelled
    assert only_order(app).status == OrderStatus.CANCELLED
    assert [sandbox.retrieve_session(s)["status"] for s in (first, second)] == [
        "expired", "expired"
    ]
    assert _attempts(app) == [(1, AttemptStatus.EXPIRED), (2, AttemptStatus.EXPIRED)]
    assert stock_of(app, products["PEN"]) == (3, 0)
    with app.app_context():
        assert [(line.product_id, line.quantity) for line in db.session.scalars(
            select(CartLine))] == [(products["PEN"], 2)]


@pytest.mark.parametrize("cancel_lands", ["before the provider answers",
                                          "after the provider answers"])
def test_a_cancel_landing_while_resume_waits_for_its_session_leaves_that_session_expired(
    app, client, sandbox, products, monkeypatch, cancel_lands
):
    gateway = app.extensions["payments"]
    real = gateway.create_checkout

    def provider_down(params, key):
        raise GatewayUnavailable("The payment provider could not be reached.")

    monkeypatch.setattr(gateway, "create_checkout", provider_down)
    assert add_to_cart(client, products["PEN"], 2).status_code == 303
    assert submit_checkout(client).status_code == 303  # to "try again": no session was made
    number = only_order(app).number
    resume_url, cancel_url = _pay_urls(app, number)
    started, other_tab = threading.Event(), []

    def cancel_in_the_other_tab() -> None:
        started.set()
        tab = threading.Thread(target=lambda: other_tab.append(_post(client, cancel_url)))
        tab.start()
        tab.join()

    # The seam: resume has recorded its request and is waiting on the provider, holding no
    # database lock; the other tab's cancel runs to its end right there (once: the cancel
    # resends the request in flight through this function too).
    def cancel_during_the_request(params, key):
        if cancel_lands == "before the provider answers" and not started.is_set():
            cancel_in_the_other_tab()
        session = real(params, key)
        if not started.is_set():
            cancel_in_the_other_tab()
        return session

    monkeypatch.setattr(gateway, "create_checkout", cancel_during_the_request)
    resumed = _post(app.test_client(), resume_url)
    [cancelled] = other_tab
    assert cancelled.headers["Location"].endswith("/cart/")  # cancel won
    assert resumed.status_code == 303
    assert f"/orders/{number}?t=" in resumed.headers["Location"]  # resume sent to the order
    assert only_order(app).status == OrderStatus.CANCELLED
    # Cancel found the request in flight and resent it with its key: one session, expired.
    [session_id] = _session_ids(app)
    assert sandbox.retrieve_session(session_id)["status"] == "expired"
    assert _attempts(app) == [(1, AttemptStatus.EXPIRED)]
    assert stock_of(app, products["PEN"]) == (3, 0)


def _session_ids(app) -> list[str]:
    with app.app_context():
        return [a.session_id for a in db.session.scalars(select(CheckoutAttempt)) if a.session_id]


def test_a_lost_creation_answer_does_not_turn_the_sessions_events_into_a_false_alarm(
    app, client, sandbox, products, monkeypatch
):
    gateway = app.extensions["payments"]
    real = gateway.create_checkout

    def answer_lost(params, key):
        real(params, key)  # the provider made the session…
        raise GatewayUnavailable("timed out")  # …but its answer never arrived

    monkeypatch.setattr(gateway, "create_checkout", answer_lost)
    assert add_to_cart(client, products["PEN"], 1).status_code == 303
    assert submit_checkout(client).status_code == 303
    monkeypatch.undo()
    sandbox.advance_clock(31 * 60)  # the session reaches its expires_at at the provider
    assert all(d.ok for d in sandbox.deliver_pending())
    order = only_order(app)
    assert order.status == OrderStatus.EXPIRED
    assert stock_of(app, products["PEN"]) == (3, 0)
    with app.app_context():
        assert db.session.scalars(select(OrderFlag)).all() == []
        [attempt] = db.session.scalars(select(CheckoutAttempt))
        assert (attempt.status, attempt.session_id is not None) == (AttemptStatus.EXPIRED, True)


def test_the_expiry_of_a_session_we_expired_ourselves_does_not_expire_a_live_order(
    app, client, sandbox, products, monkeypatch
):
    place_and_get_session(client, products["PEN"], 2)
    number = only_order(app).number
    _, cancel_url = _pay_urls(app, number)
    real = payment_sessions.expire_live

    def webhook_arrives_in_the_gap(order, **kwargs):
        result = real(order, **kwargs)
        tab = threading.Thread(target=sandbox.deliver_pending)
        tab.start()
        tab.join()
        return result

    monkeypatch.setattr(payment_sessions, "expire_live", webhook_arrives_in_the_gap)
    response = _post(client, cancel_url)
    assert response.headers["Location"].endswith("/cart/")
    assert only_order(app).status == OrderStatus.CANCELLED
    with app.app_context():
        assert len(db.session.scalars(select(CartLine)).all()) == 1


def test_a_second_payment_for_a_paid_order_is_flagged_for_a_refund(
    app, client, sandbox, products
):
    first = place_and_get_session(client, products["MUG"], 1)
    assert sandbox.pay(first).ok
    sandbox.deliver_pending()
    # A stray second session for the same order (as a race could leave) is paid too: a real
    # one, since the shop applies what the provider says of a session, not the event's copy.
    with app.app_context():
        order = db.session.scalar(select(Order))
        [attempt] = order_attempts = payment_sessions.attempts_of(order)
        params = dict(attempt.request)
        db.session.commit()
        second = app.extensions["payments"].create_checkout(params, "test-second-session")
        CheckoutAttemptFactory(order=order, number=len(order_attempts) + 1,
                               session_id=second.id)
        db.session.commit()
    assert sandbox.pay(second.id).ok
    assert all(r.status_code == 200 for r in sandbox.deliver_pending())
    with app.app_context():
        flags = [f.code for f in db.session.scalars(select(OrderFlag))]
        assert flags == [FlagCode.DUPLICATE_PAYMENT]
        assert len(db.session.scalars(select(Payment)).all()) == 2


def test_two_tabs_checking_out_one_cart_at_once_place_one_order(app, client, products):
    from tests.shop import checkout_form

    assert add_to_cart(client, products["MUG"], 2).status_code == 303
    forms = [checkout_form(client), checkout_form(client)]
    assert forms[0]["checkout_token"] != forms[1]["checkout_token"]
    start = threading.Barrier(2)
    statuses = []

    def tab(hidden) -> None:
        start.wait()
        statuses.append(submit_checkout(client, hidden).status_code)

    tabs = [threading.Thread(target=tab, args=(hidden,)) for hidden in forms]
    for thread in tabs:
        thread.start()
    for thread in tabs:
        thread.join(60)
    with app.app_context():
        assert len(db.session.scalars(select(Order)).all()) == 1
    assert stock_of(app, products["MUG"]) == (20, 2)
    assert sorted(statuses) == [303, 303]  # the second tab is sent back to an empty cart


def test_a_refund_the_provider_cannot_make_now_is_kept_and_sent_later(
    app, client, sandbox, products, monkeypatch
):
    from tests.shop import follow_success
    from tests.test_webhooks import _lapse_hold, _sell_out

    monkeypatch.setitem(app.config, "LATE_PAYMENT_POLICY", "refund")
    session_id = place_and_get_session(client, products["MUG"], 2)
    result = sandbox.pay(session_id)
    _lapse_hold(app)
    _sell_out(app, products["MUG"])
    gateway = app.extensions["payments"]
    calls = []

    def provider_down(*args, **kwargs):
        calls.append(kwargs["idempotency_key"])
        raise GatewayUnavailable("The payment provider could not be reached.")

    monkeypatch.setattr(gateway, "refund", provider_down)
    page = follow_success(client, result.redirect_url)
    assert page.status_code == 200
    # The order is settled at once; the refund waits, counted, for the provider to come back.
    assert only_order(app).status == OrderStatus.CANCELLED
    assert post_event(client, sandbox.events("checkout.session.completed")[-1]).status_code == 200
    with app.app_context():
        [refund] = db.session.scalars(select(Refund))
        assert (refund.status, refund.provider_refund_id) == (RefundStatus.PENDING, None)
        payment = db.session.scalar(select(Payment))
        assert (payment.status, payment.amount_refunded) == (PaymentStatus.REFUNDED, 4800)
    assert len(calls) == 1  # the success page tried; the duplicate event asked for nothing
    monkeypatch.undo()
    with app.app_context():
        assert upkeep.send_unsent_refunds() == 1
        assert upkeep.send_unsent_refunds() == 0
    with app.app_context():
        [refund] = db.session.scalars(select(Refund))
        assert refund.status == RefundStatus.SUCCEEDED and refund.provider_refund_id
    [made] = [e for e in sandbox.events("refund.created")]
    assert made["data"]["object"]["amount"] == 4800
