"""/metrics counts what a checkout operator watches, by exactly what happened."""

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from checkout.db import now_utc
from checkout.domain.message_status import MessageStatus
from checkout.extensions import db
from checkout.metrics import RECONCILIATION_KINDS, count_reconciliation_fixes
from checkout.models import Order, OutboxMessage, Payment
from checkout.models.payment import RefundReason
from checkout.services import fulfilment, refunds, webhooks
from tests.shop import (
    add_to_cart,
    checkout_form,
    place_and_get_session,
    session_id_of,
    submit_checkout,
)


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    """Every sample on /metrics, keyed by (name, sorted labels)."""
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.get_data(as_text=True))
        for sample in family.samples
    }


def moved(before: dict, after: dict) -> dict:
    """The checkout_* samples that changed, by how much."""
    return {
        key: after[key] - before.get(key, 0.0)
        for key in after
        if key[0].startswith("checkout_") and after[key] != before.get(key, 0.0)
        and not key[0].startswith("checkout_outbox")
    }


COMPLETED = ("checkout_webhook_events_total",
             (("outcome", "confirmed"), ("type", "checkout.session.completed")))


def test_a_checkout_and_its_webhook_move_the_counters_by_exactly_one(app, client, sandbox,
                                                                     products):
    before = scrape(client)
    assert add_to_cart(client, products["PEN"], 1).status_code == 303
    session_id = place_and_get_session(client, products["MUG"], 2)
    assert sandbox.pay(session_id).ok
    deliveries = sandbox.deliver_pending()
    assert deliveries and all(d.ok for d in deliveries)
    after = scrape(client)
    changes = moved(before, after)
    # Every delivery waited a measured while; the events the shop does not act on are
    # counted under "other", as ignored.
    assert changes.pop(("checkout_webhook_lag_seconds_count", ())) == len(deliveries)
    assert changes.pop(("checkout_webhook_lag_seconds_sum", ())) >= 0
    for key in [key for key in changes if key[0].endswith("_bucket")]:
        changes.pop(key)
    others = sum(1 for d in deliveries if d.event_type != "checkout.session.completed")
    ignored = {("checkout_webhook_events_total", (("outcome", "ignored"), ("type", "other"))):
               others} if others else {}
    assert changes == {
        ("checkout_holds_created_total", ()): 2,  # a hold per product: mug and pen
        ("checkout_holds_converted_total", ()): 2,
        COMPLETED: 1,
        **ignored,
    }


def test_a_redelivered_event_counts_as_a_duplicate(app, client, sandbox, products):
    session_id = place_and_get_session(client, products["MUG"], 1)
    assert sandbox.pay(session_id).ok
    assert all(d.ok for d in sandbox.deliver_pending())
    before = scrape(client)
    completed = sandbox.events("checkout.session.completed")
    assert len(completed) == 1
    sandbox.resend(completed[0]["id"])
    sandbox.deliver_pending()
    changes = moved(before, scrape(client))
    assert changes[("checkout_webhook_events_total",
                    (("outcome", "duplicate"), ("type", "checkout.session.completed")))] == 1
    assert COMPLETED not in changes


def test_a_webhook_with_a_bad_signature_counts_as_rejected(app, client):
    before = scrape(client)
    answer = client.post("/webhooks/stripe", data=b"{}", headers={"Stripe-Signature": "t=1,v1=x"})
    assert answer.status_code == 400
    assert moved(before, scrape(client)) == {
        ("checkout_webhook_events_total", (("outcome", "rejected"), ("type", "other"))): 1,
    }


def test_a_checkout_refused_for_want_of_stock_counts_an_oversell(app, client, sandbox, products):
    other = app.test_client()
    assert add_to_cart(client, products["VASE"], 1).status_code == 303
    # The mug's hold is taken, then rolled back with the vase's refusal: counted nowhere.
    assert add_to_cart(other, products["MUG"], 1).status_code == 303
    assert add_to_cart(other, products["VASE"], 1).status_code == 303
    hidden = checkout_form(other)  # opened while the vase was still free
    session_id_of(submit_checkout(client))
    before = scrape(client)
    assert submit_checkout(other, hidden, email="bob@example.com").status_code == 409
    assert moved(before, scrape(client)) == {("checkout_oversell_refused_total", ()): 1}


def _expire_as_the_sweeper(app) -> None:
    with app.app_context():
        order = db.session.scalar(select(Order))
        fulfilment.expire(order, None, actor="sweeper")
        db.session.commit()
        db.session.remove()


def test_an_expired_order_paid_after_all_counts_expired_holds_and_a_late_payment(
        app, client, sandbox, products):
    session_id = place_and_get_session(client, products["MUG"], 2)
    assert sandbox.pay(session_id).ok
    before = scrape(client)
    _expire_as_the_sweeper(app)
    middle = scrape(client)
    assert moved(before, middle) == {("checkout_holds_expired_total", ()): 1}
    assert all(d.ok for d in sandbox.deliver_pending())
    changes = moved(middle, scrape(client))
    assert changes[("checkout_late_payments_total", ())] == 1
    assert changes[COMPLETED] == 1
    assert ("checkout_holds_converted_total", ()) not in changes


def test_a_succeeded_refund_counts_once_with_its_amount(app, client, sandbox, products):
    session_id = place_and_get_session(client, products["MUG"], 2)
    assert sandbox.pay(session_id).ok
    assert all(d.ok for d in sandbox.deliver_pending())
    before = scrape(client)
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        order = db.session.get(Order, payment.order_id)
        currency = payment.currency
        refunds.record_refund(order, payment, 1000, reason=RefundReason.REQUESTED_BY_CUSTOMER,
                              key="metrics-refund", actor="staff@example.com")
        db.session.commit()
        assert refunds.send_unsent() == 1
        db.session.remove()
    sandbox.deliver_pending()
    changes = moved(before, scrape(client))
    assert changes[("checkout_refunds_total", (("currency", currency),))] == 1
    assert changes[("checkout_refunded_amount_total", (("currency", currency),))] == 1000


def test_the_outbox_backlog_is_read_from_the_database_at_each_scrape(app, client):
    assert scrape(client)[("checkout_outbox_backlog", (("status", "pending"),))] == 0
    with app.app_context():
        db.session.add(OutboxMessage(key="k1", template="order_link", recipient="a@example.com",
                                     context="{}", status=MessageStatus.PENDING,
                                     created_at=now_utc()))
        db.session.commit()
        db.session.remove()
    samples = scrape(client)
    assert samples[("checkout_outbox_backlog", (("status", "pending"),))] == 1
    assert samples[("checkout_outbox_oldest_pending_age_seconds", ())] >= 0
    assert samples[("checkout_outbox_backlog", (("status", "failed"),))] == 0


def test_reconciliation_fixes_are_counted_by_kind(client):
    before = scrape(client)
    for kind in RECONCILIATION_KINDS:
        assert ("checkout_reconciliation_fixes_total", (("kind", kind),)) in before
    count_reconciliation_fixes("event", 2)
    count_reconciliation_fixes("refund")
    count_reconciliation_fixes("session", 0)
    assert moved(before, scrape(client)) == {
        ("checkout_reconciliation_fixes_total", (("kind", "event"),)): 2,
        ("checkout_reconciliation_fixes_total", (("kind", "refund"),)): 1,
    }
    with pytest.raises(ValueError):
        count_reconciliation_fixes("checkout.session.completed")


@pytest.fixture
def metrics_token(app):
    app.config["METRICS_TOKEN"] = "scrape-secret"
    yield "scrape-secret"
    app.config["METRICS_TOKEN"] = None


def test_with_a_token_only_its_bearer_may_scrape(client, metrics_token):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert scrape(client, Authorization=f"Bearer {metrics_token}")


def test_without_a_token_only_loopback_may_scrape(client):
    far = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert far.status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_a_handler_that_fails_counts_as_failed(app, client, sandbox, products, monkeypatch):
    session_id = place_and_get_session(client, products["MUG"], 1)
    assert sandbox.pay(session_id).ok

    def broken(event, fetched):
        raise RuntimeError("the handler broke")

    monkeypatch.setitem(webhooks.HANDLERS, "checkout.session.completed", broken)
    before = scrape(client)
    deliveries = sandbox.deliver_pending()
    failed = [d for d in deliveries if d.event_type == "checkout.session.completed"]
    assert failed and not any(d.ok for d in failed)
    changes = moved(before, scrape(client))
    assert changes[("checkout_webhook_events_total",
                    (("outcome", "failed"), ("type", "checkout.session.completed")))] == len(failed)
    assert ("checkout_holds_converted_total", ()) not in changes
