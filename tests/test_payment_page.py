"""The page Stripe's cancel_url opens: resume or cancel; try again after a failure; one session."""

from urllib.parse import urlsplit

import pytest
import stripe
from sqlalchemy import select

from checkout.config import SANDBOX_SECRET_KEY, SANDBOX_WEBHOOK_SECRET
from checkout.db import now_utc
from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import AttemptStatus
from checkout.extensions import db
from checkout.models import CheckoutAttempt, StockHold
from checkout.models.inventory import HoldStatus
from checkout.payments import StripeGateway
from tests.shop import add_to_cart, place_and_get_session, post_form, submit_checkout
from tests.state import guest_token, only_order, stock_of, text_of

GATEWAY_DOWN = "We could not reach the payment provider."


def attempts(app) -> list[CheckoutAttempt]:
    with app.app_context():
        rows = list(db.session.scalars(select(CheckoutAttempt).order_by(CheckoutAttempt.number)))
        db.session.expunge_all()
        return rows


def holds(app) -> list[tuple[int, HoldStatus]]:
    with app.app_context():
        rows = [(h.quantity, h.status) for h in db.session.scalars(select(StockHold))]
        db.session.remove()
        return rows


def local(url: str) -> str:
    """A URL on the shop as the path and query the test client asks for."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@pytest.fixture
def placed(app, client, sandbox, products) -> dict:
    """A guest placed an order for two pens and has its open session; nothing paid."""
    session_id = place_and_get_session(client, products["PEN"], 2)
    number = only_order(app).number
    token = guest_token(app, number)
    return {
        "session_id": session_id,
        "number": number,
        "pay_page": f"/checkout/orders/{number}/pay?t={token}",
        "resume": f"/checkout/orders/{number}/pay?t={token}",
        "cancel": f"/checkout/orders/{number}/cancel?t={token}",
    }


def test_stripes_cancel_url_shows_the_order_with_resume_and_cancel(app, client, sandbox,
                                                                   placed):
    cancel_url = sandbox.retrieve_session(placed["session_id"])["cancel_url"]
    assert local(cancel_url) == placed["pay_page"]
    response = client.get(local(cancel_url))
    assert response.status_code == 200
    page = text_of(response)
    assert f"Order {placed['number']} is waiting for payment" in page
    assert "Resume payment" in page and "Cancel order" in page
    assert "Your items are held for you until" in page
    assert "Brass Pen" in page and "$25.00" in page
    assert f'action="{placed["resume"]}"' in page and f'action="{placed["cancel"]}"' in page


def test_resume_goes_back_to_the_same_open_session(app, client, sandbox, placed):
    session = sandbox.retrieve_session(placed["session_id"])
    for _ in range(2):
        response = post_form(client, placed["resume"])
        assert response.status_code == 303
        assert response.headers["Location"] == session["url"]
    [attempt] = attempts(app)
    assert (attempt.session_id, attempt.status) == (placed["session_id"], AttemptStatus.OPEN)


def test_cancel_expires_the_session_releases_the_hold_and_refills_the_cart(
    app, client, sandbox, products, placed
):
    assert stock_of(app, products["PEN"]) == (3, 2)
    response = post_form(client, placed["cancel"])
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/cart/")

    assert sandbox.retrieve_session(placed["session_id"])["status"] == "expired"
    assert stock_of(app, products["PEN"]) == (3, 0)
    assert holds(app) == [(2, HoldStatus.RELEASED)]
    assert only_order(app).status == OrderStatus.CANCELLED
    cart = text_of(client.get("/cart/"))
    assert f"Order {placed['number']} was cancelled and its items are back in your cart." in cart
    assert 'id="qty-{}" name="quantity" type="number" inputmode="numeric" min="0" max="99" ' \
        'value="2"'.format(products["PEN"]) in cart

    # The session's expiry event arrives afterwards and changes nothing.
    assert all(d.ok for d in sandbox.deliver_pending())
    assert only_order(app).status == OrderStatus.CANCELLED
    assert stock_of(app, products["PEN"]) == (3, 0)
    # A cancelled order can be neither resumed nor cancelled again; its page says why.
    again = post_form(client, placed["resume"])
    assert again.status_code == 303 and f"/orders/{placed['number']}?t=" in again.headers[
        "Location"]
    assert "This order is not waiting for payment." in text_of(client.get(
        again.headers["Location"]))
    twice = post_form(client, placed["cancel"])
    assert twice.status_code == 303
    assert "This order is no longer waiting for payment, so it was not cancelled." in text_of(
        client.get(twice.headers["Location"]))
    assert client.get(placed["pay_page"]).status_code == 302


@pytest.fixture
def gateway_down(app):
    """Swap the payment gateway for one whose every request is refused at the socket."""
    working = app.extensions["payments"]
    app.extensions["payments"] = StripeGateway(
        stripe.StripeClient(SANDBOX_SECRET_KEY, base_addresses={"api": "http://127.0.0.1:9"},
                            max_network_retries=0),
        SANDBOX_WEBHOOK_SECRET,
    )

    def restore() -> None:
        app.extensions["payments"] = working

    yield restore
    restore()


def test_a_failed_session_request_keeps_the_order_and_try_again_reuses_its_key(
    app, client, sandbox, products, gateway_down
):
    add_to_cart(client, products["PEN"], 2)
    response = submit_checkout(client)
    order = only_order(app)
    assert response.status_code == 303
    # The link's token carries the second it was signed in: links made a moment apart differ
    # in it, so the pages are compared by path, and the link the shop gave is the one used.
    pay_path = f"/checkout/orders/{order.number}/pay"
    pay_page = local(response.headers["Location"])
    assert pay_page.startswith(f"{pay_path}?t=")

    page = text_of(client.get(pay_page))
    assert GATEWAY_DOWN in page
    assert f'action="{pay_path}?t=' in page  # the button that tries again
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert holds(app) == [(2, HoldStatus.ACTIVE)]
    assert stock_of(app, products["PEN"]) == (3, 2)
    [first] = attempts(app)
    assert (first.status, first.session_id) == (AttemptStatus.CREATING, None)
    assert first.last_error

    # Trying again while the provider is still down changes nothing.
    still_down = post_form(client, pay_page)
    assert local(still_down.headers["Location"]).startswith(f"{pay_path}?t=")
    assert [a.idempotency_key for a in attempts(app)] == [first.idempotency_key]

    gateway_down()
    retried = post_form(client, pay_page)
    assert retried.status_code == 303
    session_id = retried.headers["Location"].rsplit("/", 1)[1]
    assert sandbox.retrieve_session(session_id)["status"] == "open"
    [attempt] = attempts(app)
    assert attempt.idempotency_key == first.idempotency_key == (
        f"checkout-session-{order.number}-1")
    assert (attempt.status, attempt.session_id, attempt.last_error) == (
        AttemptStatus.OPEN, session_id, None)
    assert stock_of(app, products["PEN"]) == (3, 2)


def test_an_order_never_has_two_payable_sessions(app, client, sandbox, placed, products,
                                                 monkeypatch):
    gateway = app.extensions["payments"]
    calls: list[tuple[str, str]] = []
    create, expire = gateway.create_checkout, gateway.expire_checkout

    def recording_create(params, key):
        calls.append(("create", key))
        return create(params, key)

    def recording_expire(session_id):
        calls.append(("expire", session_id))
        return expire(session_id)

    monkeypatch.setattr(gateway, "create_checkout", recording_create)
    monkeypatch.setattr(gateway, "expire_checkout", recording_expire)
    # The open session can no longer be reused: start_payment must make another.
    with app.app_context():
        attempt = db.session.scalar(select(CheckoutAttempt))
        attempt.expires_at = now_utc()
        db.session.commit()

    response = post_form(client, placed["resume"])
    assert response.status_code == 303
    new_id = response.headers["Location"].rsplit("/", 1)[1]
    assert new_id != placed["session_id"]
    assert calls[0] == ("expire", placed["session_id"])
    assert [kind for kind, _ in calls[1:]] == ["create"] * (len(calls) - 1)
    assert sandbox.retrieve_session(placed["session_id"])["status"] == "expired"
    assert sandbox.retrieve_session(new_id)["status"] == "open"
    rows = attempts(app)
    assert [a.session_id for a in rows if a.status == AttemptStatus.OPEN] == [new_id]
    assert len({a.idempotency_key for a in rows}) == len(rows)

    # The old session's expiry event is superseded: the order keeps waiting with its hold.
    assert all(d.ok for d in sandbox.deliver_pending())
    assert only_order(app).status == OrderStatus.PENDING_PAYMENT
    assert stock_of(app, products["PEN"]) == (3, 2)
    assert sandbox.pay(new_id).ok
    sandbox.deliver_pending()
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED
    assert stock_of(app, products["PEN"]) == (1, 0)


def test_the_success_page_for_an_unpaid_session_waits_and_refreshes(app, client, placed):
    response = client.get(f"/checkout/success?session_id={placed['session_id']}")
    assert response.status_code == 200
    page = text_of(response)
    assert "Confirming your payment" in page
    assert '<meta http-equiv="refresh" content="3">' in page
    assert f"/orders/{placed['number']}?t=" in page
    assert only_order(app).status == OrderStatus.PENDING_PAYMENT


def test_the_success_page_stops_refreshing_once_paid(app, client, sandbox, placed):
    assert sandbox.pay(placed["session_id"]).ok
    page = text_of(client.get(f"/checkout/success?session_id={placed['session_id']}"))
    assert "your order is confirmed" in page
    assert "http-equiv=\"refresh\"" not in page
