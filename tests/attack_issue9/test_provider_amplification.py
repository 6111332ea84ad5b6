"""Attack: the success page asked Stripe about its session on every load, whoever loaded it.

One order's session id (anyone's own) reloaded a thousand times a second became a thousand
Stripe API calls a second: Stripe's rate limit is per account, so everyone else's checkouts,
refunds and webhooks' session checks then fail. The page must keep answering, and Stripe be
asked at most once every couple of seconds per session, and never once the order is settled.
"""

import time

from flask import Flask
from sqlalchemy import select

from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import Order
from tests.shop import place_and_get_session
from tests.test_rate_limits import from_address


def count_retrieves(app: Flask) -> list[str]:
    """Record each Checkout Session retrieve the app makes (the call itself still runs)."""
    gateway = app.extensions["payments"]
    real_call = gateway._call
    seen: list[str] = []

    def counting(what, fn, *args, **kwargs):
        if what == "checkout session retrieve":
            seen.append(args[0])
        return real_call(what, fn, *args, **kwargs)

    gateway._call = counting
    return seen


def status_of(app: Flask) -> OrderStatus:
    with app.app_context():
        status = OrderStatus(db.session.scalar(select(Order.status)))
        db.session.remove()
    return status


def test_reloading_the_success_page_does_not_turn_into_a_stream_of_stripe_calls(
        app: Flask, limited: Flask, products):
    browser = from_address(limited, "203.0.113.60")
    session_id = place_and_get_session(browser, products["MUG"], 1)
    retrieves = count_retrieves(limited)

    for _ in range(10):
        response = browser.get("/checkout/success", query_string={"session_id": session_id})
        assert response.status_code == 200  # the shopper's page, never a 429
    assert len(retrieves) <= 1, retrieves

    # Paid on Stripe: the next check (the page refreshes every 3 s) confirms the order.
    assert limited.extensions["sandbox"].pay(session_id).ok
    time.sleep(2.1)
    assert browser.get("/checkout/success",
                       query_string={"session_id": session_id}).status_code == 200
    assert status_of(app) == OrderStatus.PAYMENT_CONFIRMED

    # Settled: nothing Stripe says of the session changes it any more; no more calls.
    retrieves.clear()
    time.sleep(2.1)
    for _ in range(10):
        page = browser.get("/checkout/success", query_string={"session_id": session_id})
        assert page.status_code == 200
    assert retrieves == []
