"""The Checkout Session request lifecycle, called as services: start and renew.

The in-process sandbox plays Stripe. The gateway is wrapped only where a lost answer or an
unreachable provider is the point, since the sandbox always answers.
"""

from datetime import timedelta

import pytest

from checkout.db import now_utc
from checkout.domain.errors import OrderNotPayable
from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import Order
from checkout.models.order import EventKind
from checkout.services import checkout, inventory, payment_sessions
from checkout.services.payment_sessions import attempts_of
from tests.payment_sessions_support import (
    EXPIRED,
    OPEN,
    PAGE_OPENED,
    URLS,
    place,
    sandbox_session_ids,
    stock_now,
    timeline_of,
)
from tests.state import snapshot


def test_starting_payment_makes_one_session_carrying_the_orders_amounts_key_and_hold(
    app, ctx, sandbox, products
):
    order = place(products, "PEN", 2)
    hold = inventory.current_hold_expiry(order)
    placed = timeline_of(order)

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
    assert sandbox_session_ids(sandbox) == [attempt.session_id]
    session = sandbox.retrieve_session(attempt.session_id)
    assert (session["status"], session["url"]) == ("open", url)
    assert (session["amount_total"], session["currency"]) == (order.total, "usd") == (2500, "usd")
    assert session["client_reference_id"] == order.number
    assert session["metadata"] == {"order_number": order.number, "checkout_attempt": key}
    assert session["expires_at"] == int(hold.timestamp())
    assert session["success_url"] == URLS.success and session["cancel_url"] == URLS.cancel
    assert stock_now(products["PEN"]) == (3, 2)
    assert timeline_of(order) == [*placed, PAGE_OPENED]


def test_a_second_start_reuses_the_open_session(ctx, sandbox, products):
    order = place(products)
    first = payment_sessions.start(order, URLS)
    timeline = timeline_of(order)

    assert payment_sessions.start(order, URLS) == first

    [attempt] = attempts_of(order)
    assert (attempt.status, attempt.url) == (OPEN, first)
    assert sandbox_session_ids(sandbox) == [attempt.session_id]
    assert sandbox.retrieve_session(attempt.session_id)["status"] == "open"
    assert timeline_of(order) == timeline


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
    order = place(products)
    make_unpayable(order, sandbox)
    db.session.commit()
    before, sessions = snapshot(app), [
        (s["id"], s["status"]) for s in sandbox.list_sessions({})["data"]
    ]
    timeline = timeline_of(order)
    db.session.commit()

    with pytest.raises(OrderNotPayable) as refused:
        payment_sessions.start(order, URLS)

    assert str(refused.value) == message
    db.session.rollback()
    assert snapshot(app) == before
    assert db.session.get(Order, order.id).status == status
    assert [(s["id"], s["status"]) for s in sandbox.list_sessions({})["data"]] == sessions
    assert timeline_of(order) == timeline


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
    order = place(products, "PEN", 2)
    aged = _age(order, placed_minutes_ago=10, hold_minutes_left=20)
    placed = timeline_of(order)

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
    assert sandbox_session_ids(sandbox) == [second.session_id]
    session = sandbox.retrieve_session(second.session_id)
    assert (session["status"], session["url"]) == ("open", url)
    assert session["expires_at"] == int(renewed.timestamp())
    assert session["metadata"]["checkout_attempt"] == second.idempotency_key
    assert stock_now(products["PEN"]) == (3, 2)
    assert timeline_of(order) == [
        *placed,
        (EventKind.STOCK, f"Items held until {renewed:%H:%M} UTC for a new payment page."),
        PAGE_OPENED,
    ]


def test_a_session_about_to_end_is_expired_and_replaced_under_a_renewed_hold(
    app, ctx, sandbox, products
):
    order = place(products, "PEN", 2)
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
    assert sandbox_session_ids(sandbox) == sorted([old_session, fresh.session_id])
    assert sandbox.retrieve_session(old_session)["status"] == "expired"
    assert sandbox.retrieve_session(fresh.session_id)["expires_at"] == int(renewed.timestamp())
    assert stock_now(products["PEN"]) == (3, 2)


def test_an_order_older_than_twice_the_hold_is_not_renewed(app, ctx, sandbox, products):
    order = place(products, "PEN", 2)
    aged = _age(order, placed_minutes_ago=61, hold_minutes_left=20)
    placed = timeline_of(order)

    with pytest.raises(OrderNotPayable):
        payment_sessions.start(order, URLS)

    [attempt] = attempts_of(order)
    assert (attempt.status, attempt.session_id) == (EXPIRED, None)
    assert "expires_at" in attempt.last_error
    assert inventory.current_hold_expiry(order) == aged
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING_PAYMENT
    assert sandbox_session_ids(sandbox) == []
    assert stock_now(products["PEN"]) == (3, 2)
    assert timeline_of(order) == placed


# recover -------------------------------------------------------------------------------------

