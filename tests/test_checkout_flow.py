"""The whole shopper flow through the Flask test client and the sandbox, via the real SDK."""

import json

from sqlalchemy import func, select

from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import PaymentStatus
from checkout.extensions import db
from checkout.models import CheckoutAttempt, Order, Payment, WebhookEvent
from checkout.services.orders import access_token
from tests.factories import OrderFactory, ProductFactory
from tests.shop import (
    add_to_cart,
    checkout_form,
    follow_success,
    place_and_get_session,
    session_id_of,
    submit_checkout,
)
from tests.state import only_order, stock_of


def test_cart_to_checkout_to_payment_to_webhook_confirms_the_order(app, client, sandbox, products):
    mug = products["MUG"]
    session_id = place_and_get_session(client, mug, 2)

    order = only_order(app)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert (order.subtotal, order.total, order.currency) == (4800, 4800, "USD")
    assert stock_of(app, mug) == (20, 2)

    session = sandbox.retrieve_session(session_id)
    assert session["amount_total"] == 4800
    assert session["client_reference_id"] == order.number
    assert session["customer_email"] == "ada@example.com"
    metadata = dict(session["metadata"])
    # The checkout request's id (logs follow the payment by it): the test client sent none.
    assert len(metadata.pop("request_id")) == 32
    assert metadata == {
        "order_number": order.number,
        "checkout_attempt": f"checkout-session-{order.number}-1",
    }
    assert "{CHECKOUT_SESSION_ID}" in session["success_url"]

    result = sandbox.pay(session_id)
    assert result.ok
    # The webhook alone confirms the order; the shopper has not come back yet.
    deliveries = sandbox.deliver_pending()
    assert deliveries and all(d.ok for d in deliveries)
    order = only_order(app)
    assert order.status == OrderStatus.PAYMENT_CONFIRMED
    assert stock_of(app, mug) == (18, 0)
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        assert (payment.status, payment.amount) == (PaymentStatus.SUCCEEDED, 4800)
        assert payment.payment_intent_id.startswith("pi_")
        kinds = {e.type for e in db.session.scalars(select(WebhookEvent))}
        assert "checkout.session.completed" in kinds

    # Coming back afterwards changes nothing and says thank you.
    page = follow_success(client, result.redirect_url)
    assert page.status_code == 200
    assert "your order is confirmed" in page.get_data(as_text=True)
    assert stock_of(app, mug) == (18, 0)


def test_the_success_page_confirms_before_the_webhook_arrives(app, client, sandbox, products):
    session_id = place_and_get_session(client, products["PEN"], 1)
    result = sandbox.pay(session_id)
    page = follow_success(client, result.redirect_url)
    body = page.get_data(as_text=True)
    assert "your order is confirmed" in body
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED
    assert stock_of(app, products["PEN"]) == (2, 0)
    # The webhook that follows is applied once, with no second effect.
    assert all(d.ok for d in sandbox.deliver_pending())
    assert stock_of(app, products["PEN"]) == (2, 0)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    order_link = next(
        line for line in body.splitlines() if "/orders/" in line and "href" in line
    )
    assert "?t=" in order_link


def test_submitting_the_form_twice_gives_the_same_order_and_session(app, client, products):
    add_to_cart(client, products["MUG"], 1)
    hidden = checkout_form(client)
    first = submit_checkout(client, hidden)
    second = submit_checkout(client, hidden)
    assert session_id_of(first) == session_id_of(second)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1
        assert db.session.scalar(select(func.count()).select_from(CheckoutAttempt)) == 1
    assert stock_of(app, products["MUG"]) == (20, 1)


def test_the_session_carries_the_holds_expiry_and_an_order_derived_key(app, client, sandbox,
                                                                       products):
    session_id = place_and_get_session(client, products["MUG"], 1)
    with app.app_context():
        attempt = db.session.scalar(select(CheckoutAttempt))
        order = db.session.get(Order, attempt.order_id)
        params = json.loads(attempt.params)
        assert attempt.idempotency_key == f"checkout-session-{order.number}-1"
        from checkout.models import StockHold

        hold = db.session.scalar(select(StockHold))
        assert params["expires_at"] == int(hold.expires_at.timestamp())
    assert sandbox.retrieve_session(session_id)["expires_at"] == params["expires_at"]


def test_declined_card_keeps_the_order_waiting_and_the_session_open(app, client, sandbox,
                                                                    products):
    session_id = place_and_get_session(client, products["MUG"], 1)
    result = sandbox.pay(session_id, card="4000000000000002")
    assert not result.ok and result.outcome == "declined"
    sandbox.deliver_pending()
    assert only_order(app).status == OrderStatus.PENDING_PAYMENT
    assert sandbox.pay(session_id).ok
    sandbox.deliver_pending()
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED


def test_two_simultaneous_submits_of_one_form_make_one_order_and_one_session(app, client,
                                                                             products):
    import threading

    add_to_cart(client, products["MUG"], 3)
    hidden = checkout_form(client)
    start = threading.Barrier(2)
    responses = []

    def submit() -> None:
        start.wait()
        responses.append(submit_checkout(client, hidden))

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len({session_id_of(r) for r in responses}) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1
        assert db.session.scalar(select(func.count()).select_from(CheckoutAttempt)) == 1
    assert stock_of(app, products["MUG"]) == (20, 3)


def _pay_page_token(app) -> tuple[str, str]:
    from checkout.services.orders import access_token

    with app.app_context():
        order = db.session.scalar(select(Order))
        return order.number, access_token(order)


def test_cancelling_an_order_paid_meanwhile_confirms_it_instead(app, client, sandbox, products):
    from tests.conftest import csrf_token

    session_id = place_and_get_session(client, products["MUG"], 1)
    assert sandbox.pay(session_id).ok  # paid in another tab; no webhook, no return yet
    number, token = _pay_page_token(app)
    response = client.post(
        f"/checkout/orders/{number}/cancel?t={token}", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 303
    assert f"/orders/{number}" in response.headers["Location"]
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED
    assert stock_of(app, products["MUG"]) == (19, 0)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "was paid just now, so it was not cancelled" in page


def test_cancelling_after_a_lost_session_response_expires_the_session_stripe_made(
    app, client, sandbox, products
):
    """The request reached the provider but its answer was lost: the session must not stay
    payable once the order is cancelled."""
    from tests.conftest import csrf_token

    session_id = place_and_get_session(client, products["MUG"], 1)
    with app.app_context():  # forget the answer, as if the connection dropped mid-response
        attempt = db.session.scalar(select(CheckoutAttempt))
        attempt.status, attempt.session_id, attempt.url = "creating", None, None
        db.session.commit()
    number, token = _pay_page_token(app)
    response = client.post(
        f"/checkout/orders/{number}/cancel?t={token}", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/cart/")
    assert only_order(app).status == OrderStatus.CANCELLED
    assert sandbox.retrieve_session(session_id)["status"] == "expired"
    assert stock_of(app, products["MUG"]) == (20, 0)


def test_a_zero_decimal_store_currency_is_shown_and_charged_the_same(app, client, sandbox,
                                                                     products, monkeypatch):
    monkeypatch.setitem(app.config, "STORE_CURRENCY", "JPY")
    assert "¥2,400" in client.get("/products/mug").get_data(as_text=True)
    session_id = place_and_get_session(client, products["MUG"], 2)
    session = sandbox.retrieve_session(session_id)
    assert (session["currency"], session["amount_total"]) == ("jpy", 4800)
    assert only_order(app).currency == "JPY"
    assert "¥4,800" in client.get(sandbox.retrieve_session(session_id)["url"].removeprefix(
        "http://shop.test")).get_data(as_text=True)


def test_the_order_page_shows_a_discount_and_tax_that_add_up_to_the_total(app, client):
    with app.app_context():
        order = OrderFactory(
            items=[(ProductFactory(price=2000), 2)], discount=400, shipping=500, tax=320
        )
        url = f"/orders/{order.number}?t={access_token(order)}"
    page = client.get(url).get_data(as_text=True)
    # 4000 − 400 + 500 + 320 = 4420
    for text in ("Subtotal</dt><dd>$40.00", "Discount</dt><dd>−$4.00", "Shipping</dt><dd>$5.00",
                 "Tax</dt><dd>$3.20", "$44.20"):
        assert text in page
