"""Every webhook rule: signature, exactly-once, any order, session ↔ order checks, late payment."""

import hashlib
import hmac
import json
import threading
import time

import pytest
from sqlalchemy import func, select

from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import PaymentStatus
from checkout.extensions import db
from checkout.models import Order, OrderFlag, Payment, Stock, StockHold, WebhookEvent
from checkout.models.inventory import HoldStatus
from checkout.models.order import FlagCode
from checkout.services import inventory
from tests.shop import place_and_get_session
from tests.state import only_order, stock_of

SECRET = "whsec_sandbox_checkout"


def sign(payload: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def post_event(client, event: dict, *, secret: str = SECRET, timestamp: int | None = None,
               payload: bytes | None = None):
    body = payload if payload is not None else json.dumps(event).encode()
    return client.post(
        "/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": sign(body, secret, timestamp),
                 "Content-Type": "application/json"},
    )


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def event_of(sandbox, type_: str) -> dict:
    [event] = [e for e in sandbox.events(type_)][-1:]
    return event


@pytest.fixture
def paid_session(app, client, sandbox, products):
    """A session the shopper paid, with its events not yet delivered."""
    session_id = place_and_get_session(client, products["MUG"], 2)
    assert sandbox.pay(session_id).ok
    return session_id


def test_a_bad_signature_is_rejected_with_no_state_change(app, client, sandbox, paid_session):
    event = event_of(sandbox, "checkout.session.completed")
    response = post_event(client, event, secret="whsec_wrong")
    assert response.status_code == 400
    assert only_order(app).status == OrderStatus.PENDING_PAYMENT
    assert count(app, WebhookEvent) == 0


def test_a_tampered_body_is_rejected(app, client, sandbox, paid_session):
    event = event_of(sandbox, "checkout.session.completed")
    body = json.dumps(event).encode()
    tampered = body.replace(b'"paid"', b'"unpaid"')
    response = client.post("/webhooks/stripe", data=tampered,
                           headers={"Stripe-Signature": sign(body)})
    assert response.status_code == 400
    assert count(app, WebhookEvent) == 0


def test_a_stale_timestamp_is_rejected(app, client, sandbox, paid_session):
    event = event_of(sandbox, "checkout.session.completed")
    response = post_event(client, event, timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert only_order(app).status == OrderStatus.PENDING_PAYMENT


@pytest.mark.parametrize("payload", [b"", b"not json", b"[]", b'{"id": "evt_1"}', b"\xff\xfe"])
def test_a_malformed_body_is_rejected(app, client, payload):
    response = post_event(client, {}, payload=payload)
    assert response.status_code == 400
    assert count(app, WebhookEvent) == 0


def test_missing_signature_header_is_rejected(client):
    response = client.post("/webhooks/stripe", data=b"{}")
    assert response.status_code == 400


def test_a_duplicate_event_has_exactly_one_effect(app, client, sandbox, paid_session, products):
    event = event_of(sandbox, "checkout.session.completed")
    first, second = post_event(client, event), post_event(client, event)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json()["outcome"] == "duplicate"
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED
    assert stock_of(app, products["MUG"]) == (18, 0)
    assert count(app, WebhookEvent) == 1
    assert count(app, Payment) == 1


def test_concurrent_redeliveries_have_exactly_one_effect(app, sandbox, paid_session, products):
    event = event_of(sandbox, "checkout.session.completed")
    body = json.dumps(event).encode()
    start = threading.Barrier(6)
    statuses = []

    def deliver() -> None:
        client = app.test_client()
        start.wait()
        statuses.append(
            client.post("/webhooks/stripe", data=body,
                        headers={"Stripe-Signature": sign(body)}).status_code
        )

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [200] * 6
    assert stock_of(app, products["MUG"]) == (18, 0)
    assert count(app, WebhookEvent) == 1
    assert count(app, Payment) == 1
    with app.app_context():
        order = db.session.scalar(select(Order))
        confirmations = [e for e in order.events if e.to_status == "payment_confirmed"]
        assert len(confirmations) == 1


def test_expired_after_completed_does_not_undo_the_payment(app, client, sandbox, paid_session,
                                                           products):
    completed = event_of(sandbox, "checkout.session.completed")
    assert post_event(client, completed).status_code == 200
    expired = json.loads(json.dumps(completed))
    expired["id"] = "evt_test_out_of_order_expired"
    expired["type"] = "checkout.session.expired"
    expired["data"]["object"]["status"] = "expired"
    response = post_event(client, expired)
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "stale"
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED
    assert stock_of(app, products["MUG"]) == (18, 0)


def test_unknown_event_types_are_recorded_and_ignored(app, client):
    event = {"id": "evt_test_unknown", "object": "event", "type": "customer.created",
             "created": int(time.time()), "data": {"object": {"id": "cus_1", "object": "customer"}},
             "livemode": False, "api_version": "2026-10-28.endive", "pending_webhooks": 1,
             "request": {"id": None, "idempotency_key": None}}
    response = post_event(client, event)
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "ignored"
    with app.app_context():
        record = db.session.scalar(select(WebhookEvent))
        assert (record.event_id, record.type) == ("evt_test_unknown", "customer.created")


def _change_order(app, **values) -> None:
    """Make the order disagree with the session the provider really has for it."""
    with app.app_context():
        order = db.session.scalar(select(Order))
        for name, value in values.items():
            setattr(order, name, value)
        db.session.commit()


def test_an_amount_mismatch_never_confirms_and_flags_the_order(app, client, sandbox,
                                                                paid_session, products):
    _change_order(app, total=1)
    event = event_of(sandbox, "checkout.session.completed")
    response = post_event(client, event)
    assert response.status_code == 200
    order = only_order(app)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert stock_of(app, products["MUG"]) == (20, 2)
    with app.app_context():
        [flag] = db.session.scalars(select(OrderFlag))
        assert flag.code == FlagCode.PAYMENT_MISMATCH
    assert count(app, Payment) == 0


@pytest.mark.parametrize(
    ("field", "value"), [("currency", "EUR"), ("number", "ZZZZ-ZZZZ")],
)
def test_any_session_order_mismatch_never_confirms(app, client, sandbox, paid_session, field,
                                                    value):
    _change_order(app, **{field: value})
    event = event_of(sandbox, "checkout.session.completed")
    assert post_event(client, event).status_code == 200
    assert only_order(app).status == OrderStatus.PENDING_PAYMENT
    assert count(app, Payment) == 0


def test_our_own_failure_answers_500_and_rolls_back(app, client, sandbox, paid_session,
                                                    monkeypatch):
    from checkout.services import fulfilment

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # answer as in production
    monkeypatch.setattr(fulfilment.inventory, "convert_holds", broken)
    event = event_of(sandbox, "checkout.session.completed")
    response = post_event(client, event)
    assert response.status_code == 500
    # Only the failure is kept (the webhook log's FAILED row); every effect was rolled back.
    with app.app_context():
        assert db.session.scalars(select(WebhookEvent.outcome)).all() == ["failed"]
    assert only_order(app).status == OrderStatus.PENDING_PAYMENT
    monkeypatch.undo()
    # Stripe's retry then succeeds.
    assert post_event(client, event).status_code == 200
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED


def test_expired_session_releases_the_hold(app, client, sandbox, products):
    place_and_get_session(client, products["PEN"], 2)
    assert stock_of(app, products["PEN"]) == (3, 2)
    sandbox.advance_clock(31 * 60)
    sandbox.deliver_pending()
    assert only_order(app).status == OrderStatus.EXPIRED
    assert stock_of(app, products["PEN"]) == (3, 0)


def _lapse_hold(app) -> None:
    """Release the order's hold as the sweeper would after it ran out."""
    with app.app_context():
        order = db.session.scalar(select(Order))
        inventory.release_holds(order, actor="test")
        order.transition_to(OrderStatus.EXPIRED, actor="test")
        db.session.commit()


def test_late_payment_re_reserves_when_stock_allows(app, client, sandbox, paid_session,
                                                    products):
    _lapse_hold(app)
    sandbox.deliver_pending()
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED
    assert stock_of(app, products["MUG"]) == (18, 0)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OrderFlag)) == 0


def _sell_out(app, product_id: int) -> None:
    with app.app_context():
        stock = db.session.get(Stock, product_id)
        stock.on_hand = stock.held
        db.session.commit()


def test_late_payment_without_stock_is_paid_and_flagged(app, client, sandbox, paid_session,
                                                       products):
    _lapse_hold(app)
    _sell_out(app, products["MUG"])
    sandbox.deliver_pending()
    order = only_order(app)
    assert order.status == OrderStatus.PAYMENT_CONFIRMED
    with app.app_context():
        [flag] = db.session.scalars(select(OrderFlag))
        assert flag.code == FlagCode.STOCK_SHORTAGE
        assert db.session.scalar(select(Payment)).status == PaymentStatus.SUCCEEDED
        messages = [e.message for e in db.session.get(Order, order.id).events]
        assert any("lapsed" in m for m in messages)


def test_late_payment_without_stock_is_refunded_under_the_refund_policy(
    app, client, sandbox, paid_session, products, monkeypatch
):
    monkeypatch.setitem(app.config, "LATE_PAYMENT_POLICY", "refund")
    _lapse_hold(app)
    _sell_out(app, products["MUG"])
    sandbox.deliver_pending()
    order = only_order(app)
    assert order.status == OrderStatus.CANCELLED
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        assert (payment.status, payment.amount_refunded) == (PaymentStatus.REFUNDED, 4800)
        refunds = sandbox.events("refund.created")
        assert len(refunds) == 1 and refunds[0]["data"]["object"]["amount"] == 4800
    # A redelivery asks for the same refund, never a second one.
    event = event_of(sandbox, "checkout.session.completed")
    event["id"] = "evt_test_redelivered_completed"
    assert post_event(client, event).status_code == 200
    assert len(sandbox.events("refund.created")) == 1


def test_bank_debit_keeps_the_hold_until_it_settles(app, client, sandbox, products):
    session_id = place_and_get_session(client, products["PEN"], 1)
    assert sandbox.pay(session_id, method="bank_debit").outcome == "processing"
    sandbox.deliver_pending()
    assert only_order(app).status == OrderStatus.PAYMENT_PROCESSING
    with app.app_context():
        hold = db.session.scalar(select(StockHold))
        assert (hold.status, hold.expires_at) == (HoldStatus.ACTIVE, None)
    # Days pass: the session's own expiry does not touch a completed session's hold.
    sandbox.advance_clock(2 * 24 * 3600)
    sandbox.deliver_pending()
    assert stock_of(app, products["PEN"]) == (3, 1)
    sandbox.settle_async(session_id, succeeded=True)
    sandbox.deliver_pending()
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED
    assert stock_of(app, products["PEN"]) == (2, 0)


def test_a_failed_bank_debit_sends_the_order_back_to_awaiting_payment(app, client, sandbox,
                                                                      products):
    session_id = place_and_get_session(client, products["PEN"], 1)
    sandbox.pay(session_id, method="bank_debit")
    sandbox.deliver_pending()
    sandbox.settle_async(session_id, succeeded=False)
    sandbox.deliver_pending()
    order = only_order(app)
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert stock_of(app, products["PEN"]) == (3, 1)
    with app.app_context():
        assert db.session.scalar(select(Payment)).status == PaymentStatus.FAILED
        hold = db.session.scalar(select(StockHold))
        assert hold.expires_at is not None


def test_webhook_delivery_retries_after_the_endpoint_was_down(app, client, sandbox,
                                                             paid_session):
    sandbox.set_endpoint_down(60)
    results = sandbox.deliver_pending()
    assert results and not any(r.ok for r in results)
    assert only_order(app).status == OrderStatus.PENDING_PAYMENT
    sandbox.advance_clock(120)
    sandbox.deliver_pending()
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED
