"""The Checkout Session request lifecycle, called as services: start, renew, recover, adopt, expire.

The in-process sandbox plays Stripe. The gateway is wrapped only where a lost answer or an
unreachable provider is the point, since the sandbox always answers.
"""

import dataclasses
import json
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from checkout.db import now_utc
from checkout.domain.errors import GatewayUnavailable, OrderNotPayable
from checkout.domain.order_status import OrderStatus
from checkout.domain.outcomes import Outcome
from checkout.domain.payment_status import AttemptStatus, PaymentStatus
from checkout.extensions import db
from checkout.models import Order, OrderFlag, Payment, Product, Stock, WebhookEvent
from checkout.models.order import EventKind
from checkout.payments import CheckoutSessionInfo, gateway
from checkout.services import checkout, inventory, payment_sessions
from checkout.services.payment_sessions import ReturnUrls, attempts_of
from tests.conftest import BASE_URL
from tests.factories import CartFactory, CheckoutAttemptFactory
from tests.shop import ADDRESS
from tests.state import snapshot

URLS = ReturnUrls(
    success=f"{BASE_URL}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}",
    cancel=f"{BASE_URL}/checkout/orders/pay-again",
)
PAGE_OPENED = (EventKind.PAYMENT, "Payment page opened on Stripe Checkout.")
OPEN, CREATING = AttemptStatus.OPEN, AttemptStatus.CREATING
COMPLETE, EXPIRED = AttemptStatus.COMPLETE, AttemptStatus.EXPIRED


def _place(products: dict[str, int], sku: str = "PEN", quantity: int = 2) -> Order:
    """Place an order the way the checkout form does: line snapshots and a stock hold."""
    cart = CartFactory(items=[(db.session.get(Product, products[sku]), quantity)])
    details = checkout.ShippingDetails(**ADDRESS)
    return checkout.place_order(cart, details, secrets.token_urlsafe(16), None)


def _timeline(order: Order) -> list[tuple[str, str]]:
    db.session.refresh(order)
    return [(event.kind, event.message) for event in order.events]


def _stock(product_id: int) -> tuple[int, int]:
    """(on_hand, held) of a product, read afresh in this test's session (SQLite has one writer)."""
    stock = db.session.get(Stock, product_id)
    db.session.refresh(stock)
    return stock.on_hand, stock.held


def _sandbox_session_ids(sandbox) -> list[str]:
    return sorted(session["id"] for session in sandbox.list_sessions({})["data"])


def _lose_answers(monkeypatch, app, *, reached: bool = True) -> list[str]:
    """Make create_checkout fail like a dropped connection; return the sessions made meanwhile.

    The sandbox always answers, so the gateway is wrapped: `reached` says whether the request
    got to the provider (it made the session) before the answer was lost.
    """
    provider = app.extensions["payments"]
    real = provider.create_checkout
    made: list[str] = []

    def answer_lost(params, key):
        if reached:
            made.append(real(params, key).id)
        raise GatewayUnavailable("The payment provider could not be reached.")

    monkeypatch.setattr(provider, "create_checkout", answer_lost)
    return made


def _second_live_attempt(order: Order) -> None:
    """Record a second request still waiting for its answer beside the open one.

    start() never leaves two live requests; an older release or a crash between its steps
    could, and expire_live must close them all.
    """
    [first] = attempts_of(order)
    key = f"checkout-session-{order.number}-2"
    params = first.request
    params["metadata"]["checkout_attempt"] = key
    CheckoutAttemptFactory(
        order=order, number=2, idempotency_key=key, params=json.dumps(params, sort_keys=True),
        status=CREATING, session_id=None, url=None, expires_at=first.expires_at,
    )


# start ---------------------------------------------------------------------------------------


def test_starting_payment_makes_one_session_carrying_the_orders_amounts_key_and_hold(
    app, ctx, sandbox, products
):
    order = _place(products, "PEN", 2)
    hold = inventory.current_hold_expiry(order)
    placed = _timeline(order)

    url = payment_sessions.start(order, URLS)

    [attempt] = attempts_of(order)
    key = f"checkout-session-{order.number}-1"
    assert (attempt.number, attempt.status, attempt.idempotency_key) == (1, OPEN, key)
    assert (attempt.url, attempt.expires_at, attempt.last_error) == (url, hold, None)
    assert attempt.request["client_reference_id"] == order.number
    assert attempt.request["metadata"] == {"order_number": order.number, "checkout_attempt": key}
    assert attempt.request["expires_at"] == int(hold.timestamp())
    assert [(item["price_data"]["unit_amount"], item["quantity"])
            for item in attempt.request["line_items"]] == [(1250, 2)]
    assert _sandbox_session_ids(sandbox) == [attempt.session_id]
    session = sandbox.retrieve_session(attempt.session_id)
    assert (session["status"], session["url"]) == ("open", url)
    assert (session["amount_total"], session["currency"]) == (order.total, "usd") == (2500, "usd")
    assert session["client_reference_id"] == order.number
    assert session["metadata"] == {"order_number": order.number, "checkout_attempt": key}
    assert session["expires_at"] == int(hold.timestamp())
    assert session["success_url"] == URLS.success and session["cancel_url"] == URLS.cancel
    assert _stock(products["PEN"]) == (3, 2)
    assert _timeline(order) == [*placed, PAGE_OPENED]


def test_a_second_start_reuses_the_open_session(ctx, sandbox, products):
    order = _place(products)
    first = payment_sessions.start(order, URLS)
    timeline = _timeline(order)

    assert payment_sessions.start(order, URLS) == first

    [attempt] = attempts_of(order)
    assert (attempt.status, attempt.url) == (OPEN, first)
    assert _sandbox_session_ids(sandbox) == [attempt.session_id]
    assert sandbox.retrieve_session(attempt.session_id)["status"] == "open"
    assert _timeline(order) == timeline


def _paid(order: Order, sandbox) -> None:
    payment_sessions.start(order, URLS)
    [attempt] = attempts_of(order)
    assert sandbox.pay(attempt.session_id).outcome == "succeeded"
    assert all(delivery.ok for delivery in sandbox.deliver_pending())


def _cancelled(order: Order, sandbox) -> None:
    payment_sessions.start(order, URLS)
    checkout.cancel_order(order, None, None)


def _hold_ran_out(order: Order, sandbox) -> None:
    inventory.set_hold_expiry(order, now_utc() - timedelta(seconds=1))
    db.session.commit()


NOT_WAITING = "This order is not waiting for payment."
RAN_OUT = "The time to pay for this order has run out and its items were released."


@pytest.mark.parametrize("make_unpayable, status, message", [
    (_paid, OrderStatus.PAYMENT_CONFIRMED, NOT_WAITING),
    (_cancelled, OrderStatus.CANCELLED, NOT_WAITING),
    (_hold_ran_out, OrderStatus.PENDING_PAYMENT, RAN_OUT),
])
def test_starting_payment_on_an_order_not_awaiting_it_raises_and_changes_nothing(
    app, ctx, sandbox, products, make_unpayable, status, message
):
    order = _place(products)
    make_unpayable(order, sandbox)
    db.session.commit()
    before, sessions = snapshot(app), [
        (s["id"], s["status"]) for s in sandbox.list_sessions({})["data"]
    ]
    timeline = _timeline(order)
    db.session.commit()

    with pytest.raises(OrderNotPayable) as refused:
        payment_sessions.start(order, URLS)

    assert str(refused.value) == message
    db.session.rollback()
    assert snapshot(app) == before
    assert db.session.get(Order, order.id).status == status
    assert [(s["id"], s["status"]) for s in sandbox.list_sessions({})["data"]] == sessions
    assert _timeline(order) == timeline


# renew ---------------------------------------------------------------------------------------


def _age(order: Order, *, placed_minutes_ago: int, hold_minutes_left: int):
    """Make the order as old as a shopper who dawdled: placed earlier, its hold running down."""
    order.created_at = now_utc() - timedelta(minutes=placed_minutes_ago)
    aged = now_utc().replace(microsecond=0) + timedelta(minutes=hold_minutes_left)
    inventory.set_hold_expiry(order, aged)
    db.session.commit()
    return aged


def test_a_request_refused_for_a_too_close_expiry_renews_the_hold_under_a_fresh_key(
    app, ctx, sandbox, products
):
    order = _place(products, "PEN", 2)
    aged = _age(order, placed_minutes_ago=10, hold_minutes_left=20)
    placed = _timeline(order)

    url = payment_sessions.start(order, URLS)

    first, second = attempts_of(order)
    # The first request asked for the aged hold; the sandbox refused it, so it never ran.
    assert (first.number, first.status, first.session_id, first.url) == (1, EXPIRED, None, None)
    assert first.request["expires_at"] == int(aged.timestamp())
    assert "expires_at" in first.last_error
    renewed = inventory.current_hold_expiry(order)
    assert renewed >= now_utc() + timedelta(minutes=29)
    assert (second.number, second.status, second.expires_at, second.url) == (2, OPEN, renewed, url)
    assert second.idempotency_key == f"checkout-session-{order.number}-2"
    assert second.idempotency_key != first.idempotency_key
    assert second.request["metadata"]["checkout_attempt"] == second.idempotency_key
    assert second.request["expires_at"] == int(renewed.timestamp())
    assert _sandbox_session_ids(sandbox) == [second.session_id]
    session = sandbox.retrieve_session(second.session_id)
    assert (session["status"], session["url"]) == ("open", url)
    assert session["expires_at"] == int(renewed.timestamp())
    assert session["metadata"]["checkout_attempt"] == second.idempotency_key
    assert _stock(products["PEN"]) == (3, 2)
    assert _timeline(order) == [
        *placed,
        (EventKind.STOCK, f"Items held until {renewed:%H:%M} UTC for a new payment page."),
        PAGE_OPENED,
    ]


def test_a_session_about_to_end_is_expired_and_replaced_under_a_renewed_hold(
    app, ctx, sandbox, products
):
    order = _place(products, "PEN", 2)
    payment_sessions.start(order, URLS)
    [attempt] = attempts_of(order)
    old_session = attempt.session_id
    # The shopper comes back with twenty seconds of the hold and of the session left.
    nearly_over = _age(order, placed_minutes_ago=29, hold_minutes_left=0) + timedelta(seconds=20)
    inventory.set_hold_expiry(order, nearly_over)
    attempt.expires_at = nearly_over
    db.session.commit()

    url = payment_sessions.start(order, URLS)

    first, refused, fresh = attempts_of(order)
    assert (first.status, first.session_id) == (EXPIRED, old_session)
    assert (refused.status, refused.session_id) == (EXPIRED, None)
    assert refused.request["expires_at"] == int(nearly_over.timestamp())
    assert "expires_at" in refused.last_error
    renewed = inventory.current_hold_expiry(order)
    assert renewed >= now_utc() + timedelta(minutes=29)
    assert (fresh.status, fresh.expires_at, fresh.url) == (OPEN, renewed, url)
    assert _sandbox_session_ids(sandbox) == sorted([old_session, fresh.session_id])
    assert sandbox.retrieve_session(old_session)["status"] == "expired"
    assert sandbox.retrieve_session(fresh.session_id)["expires_at"] == int(renewed.timestamp())
    assert _stock(products["PEN"]) == (3, 2)


def test_an_order_older_than_twice_the_hold_is_not_renewed(app, ctx, sandbox, products):
    order = _place(products, "PEN", 2)
    aged = _age(order, placed_minutes_ago=61, hold_minutes_left=20)
    placed = _timeline(order)

    with pytest.raises(OrderNotPayable):
        payment_sessions.start(order, URLS)

    [attempt] = attempts_of(order)
    assert (attempt.status, attempt.session_id) == (EXPIRED, None)
    assert "expires_at" in attempt.last_error
    assert inventory.current_hold_expiry(order) == aged
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING_PAYMENT
    assert _sandbox_session_ids(sandbox) == []
    assert _stock(products["PEN"]) == (3, 2)
    assert _timeline(order) == placed


# recover -------------------------------------------------------------------------------------


@pytest.mark.parametrize("retried_after_minutes", [0, 10])
def test_a_start_whose_answer_was_lost_is_resent_with_its_key_and_yields_that_session(
    app, ctx, sandbox, products, monkeypatch, retried_after_minutes
):
    order = _place(products)
    made = _lose_answers(monkeypatch, app)
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
    assert _sandbox_session_ids(sandbox) == made
    assert sandbox.retrieve_session(made[0])["url"] == url == attempt.url
    assert _timeline(order).count(PAGE_OPENED) == 1


def test_expire_live_resends_a_request_whose_answer_was_lost_and_expires_that_session(
    app, ctx, sandbox, products, monkeypatch
):
    order = _place(products)
    made = _lose_answers(monkeypatch, app)
    with pytest.raises(GatewayUnavailable):
        payment_sessions.start(order, URLS)
    monkeypatch.undo()

    assert payment_sessions.expire_live(order) is True

    [attempt] = attempts_of(order)
    assert (attempt.status, attempt.session_id, attempt.url) == (EXPIRED, made[0], None)
    assert _sandbox_session_ids(sandbox) == made
    assert sandbox.retrieve_session(made[0])["status"] == "expired"
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING_PAYMENT
    assert _stock(products["PEN"]) == (3, 2)


def test_expire_live_gives_up_a_request_that_never_ran_once_the_provider_calls_it_stale(
    app, ctx, sandbox, products, monkeypatch
):
    order = _place(products)
    _lose_answers(monkeypatch, app, reached=False)
    with pytest.raises(GatewayUnavailable):
        payment_sessions.start(order, URLS)
    monkeypatch.undo()
    # Ten minutes on, the request's expires_at is under Stripe's 30-minute minimum.
    sandbox.advance_clock(10 * 60)

    assert payment_sessions.expire_live(order) is True

    [attempt] = attempts_of(order)
    assert (attempt.status, attempt.session_id) == (EXPIRED, None)
    assert _sandbox_session_ids(sandbox) == []


# adopt ---------------------------------------------------------------------------------------


def test_a_webhook_for_a_session_whose_creation_answer_was_lost_adopts_it_and_confirms(
    app, ctx, sandbox, products, monkeypatch
):
    order = _place(products, "PEN", 2)
    made = _lose_answers(monkeypatch, app)
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
    assert _stock(products["PEN"]) == (1, 0)


def test_adopt_session_ties_a_lost_session_to_the_attempt_its_key_names(
    app, ctx, sandbox, products, monkeypatch
):
    order = _place(products)
    made = _lose_answers(monkeypatch, app)
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
    order = _place(products)
    made = _lose_answers(monkeypatch, app)
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
    order = _place(products, "PEN", 1)
    other = _place(products, "MUG", 1)
    made = _lose_answers(monkeypatch, app)
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
    order = _place(products)
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
    order = _place(products)
    _lose_answers(monkeypatch, app, reached=False)
    with pytest.raises(GatewayUnavailable):
        payment_sessions.start(order, URLS)
    monkeypatch.undo()
    sandbox.advance_clock(10 * 60)
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
    order = _place(products)
    payment_sessions.start(order, URLS)
    _second_live_attempt(order)

    assert payment_sessions.expire_live(order) is True

    first, second = attempts_of(order)
    assert (first.status, second.status) == (EXPIRED, EXPIRED)
    assert first.url is None and second.url is None
    sessions = _sandbox_session_ids(sandbox)
    assert sessions == sorted([first.session_id, second.session_id])
    assert [sandbox.retrieve_session(s)["status"] for s in sessions] == ["expired", "expired"]
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING_PAYMENT
    assert _stock(products["PEN"]) == (3, 2)
    # Nothing is left live: a second sweep has nothing to do.
    assert payment_sessions.expire_live(order) is False


def test_expire_live_spares_the_latest_request_waiting_to_be_resent(ctx, sandbox, products):
    order = _place(products)
    payment_sessions.start(order, URLS)
    _second_live_attempt(order)

    assert payment_sessions.expire_live(order, spare_retry=True) is True

    first, second = attempts_of(order)
    assert (first.status, second.status, second.session_id) == (EXPIRED, CREATING, None)
    assert _sandbox_session_ids(sandbox) == [first.session_id]
    assert sandbox.retrieve_session(first.session_id)["status"] == "expired"


def test_expire_live_applies_a_session_found_paid_and_raises(app, ctx, sandbox, products):
    order = _place(products, "PEN", 2)
    payment_sessions.start(order, URLS)
    [attempt] = attempts_of(order)
    assert sandbox.pay(attempt.session_id).outcome == "succeeded"
    placed = _timeline(order)

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
    assert _stock(products["PEN"]) == (1, 0)
    assert _timeline(order) == [
        *placed,
        (EventKind.PAYMENT, "Payment of {amount} received."),
        (EventKind.STOCK, "Stock reserved for shipping."),
        (EventKind.STATUS, "Payment confirmed."),
    ]


def test_expire_live_has_nothing_to_do_for_an_order_without_live_requests(
    ctx, sandbox, products
):
    order = _place(products)

    assert payment_sessions.expire_live(order) is False

    assert attempts_of(order) == []
    assert _sandbox_session_ids(sandbox) == []
