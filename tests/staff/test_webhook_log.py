"""The webhook log: a failed event is kept with its payload, alerted once, and run again later."""

import json
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from checkout import mail
from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import OutboxMessage, Payment, WebhookEvent
from checkout.services import webhooks
from tests.conftest import csrf_token
from tests.shop import place_and_get_session
from tests.state import only_order, text_of
from tests.test_webhooks import event_of, post_event, sign

COMPLETED = "checkout.session.completed"


@pytest.fixture
def paid_event(app, client, sandbox, products) -> dict:
    """The completed-session event of a paid order, not yet delivered to the shop."""
    session_id = place_and_get_session(client, products["MUG"], 2)
    assert sandbox.pay(session_id).ok
    return event_of(sandbox, COMPLETED)


@pytest.fixture
def failing_once(app, monkeypatch):
    """Make the completed-session handler raise on its first run; count every run."""
    real = webhooks.HANDLERS[COMPLETED]
    runs = []

    def flaky(event, fetched):
        runs.append(event.id)
        if len(runs) == 1:
            raise RuntimeError("database hiccup <b>once</b>")
        return real(event, fetched)

    monkeypatch.setitem(webhooks.HANDLERS, COMPLETED, flaky)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # answer as in production
    return runs


def stored(app, event_id: str) -> WebhookEvent:
    with app.app_context():
        row = db.session.scalar(select(WebhookEvent).where(WebhookEvent.event_id == event_id))
        db.session.expunge_all()
    return row


def alerts(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(OutboxMessage.key).where(OutboxMessage.key.startswith("staff-alert:webhook:"))
        ))


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def replay(client, event_id: str):
    token = csrf_token(client, f"/staff/webhooks/{event_id}")
    return client.post(f"/staff/webhooks/{event_id}/replay", data={"csrf_token": token})


def test_a_failed_event_is_kept_with_its_payload_and_alerts_staff_once(
    app, client, staff, paid_event, failing_once
):
    response = post_event(client, paid_event)
    assert response.status_code == 500
    row = stored(app, paid_event["id"])
    assert row.outcome == "failed"
    assert "RuntimeError: database hiccup" in row.detail
    assert json.loads(row.payload) == paid_event
    assert only_order(app).status == OrderStatus.PENDING_PAYMENT
    assert count(app, Payment) == 0
    assert alerts(app) == [f"staff-alert:webhook:{paid_event['id']}:staff@example.com"]
    with app.app_context():
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.key.startswith("staff-alert:webhook:"))
        )
        email = mail.render(message.key, message.template, message.recipient, message.data)
    text = email.get_body(preferencelist=("plain",)).get_content()
    assert paid_event["id"] in email["Subject"] and COMPLETED in email["Subject"]
    assert "RuntimeError: database hiccup <b>once</b>" in text
    assert f"http://shop.test/staff/webhooks/{paid_event['id']}" in text
    html = email.get_body(preferencelist=("html",)).get_content()
    assert "database hiccup &lt;b&gt;once&lt;/b&gt;" in html


def test_stripe_redelivering_a_failed_event_runs_it_again(
    app, client, staff, paid_event, failing_once
):
    assert post_event(client, paid_event).status_code == 500
    again = post_event(client, paid_event)
    assert again.status_code == 200 and again.get_json()["outcome"] == "confirmed"
    assert failing_once == [paid_event["id"]] * 2
    assert stored(app, paid_event["id"]).outcome == "confirmed"
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED
    # Once handled, the event is a duplicate like any other: nothing runs a third time.
    assert post_event(client, paid_event).get_json()["outcome"] == "duplicate"
    assert len(failing_once) == 2
    assert count(app, WebhookEvent) == 1
    assert len(alerts(app)) == 1


def test_failing_again_alerts_nobody_twice_and_keeps_the_latest_error(
    app, client, staff, paid_event, monkeypatch
):
    errors = iter(["first", "second"])

    def broken(event, fetched):
        raise RuntimeError(next(errors))

    monkeypatch.setitem(webhooks.HANDLERS, COMPLETED, broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    assert post_event(client, paid_event).status_code == 500
    assert post_event(client, paid_event).status_code == 500
    row = stored(app, paid_event["id"])
    assert (row.outcome, row.detail) == ("failed", "RuntimeError: second")
    assert len(alerts(app)) == 1


def test_the_replay_button_runs_the_handler_on_the_stored_payload(
    app, client, staff, paid_event, failing_once
):
    assert post_event(client, paid_event).status_code == 500
    page = text_of(staff.get(f"/staff/webhooks/{paid_event['id']}"))
    assert "Replay this event" in page
    response = replay(staff, paid_event["id"])
    assert response.status_code == 303
    shown = text_of(staff.get(response.headers["Location"]))
    assert f"Event {paid_event['id']} replayed: confirmed" in shown
    assert "Replay this event" not in shown
    assert stored(app, paid_event["id"]).outcome == "confirmed"
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED
    assert count(app, Payment) == 1


def test_a_replay_that_fails_again_says_so(app, client, staff, paid_event, monkeypatch):
    def broken(event, fetched):
        raise RuntimeError("still broken")

    monkeypatch.setitem(webhooks.HANDLERS, COMPLETED, broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    assert post_event(client, paid_event).status_code == 500
    response = replay(staff, paid_event["id"])
    assert response.status_code == 303
    assert "failed again: RuntimeError: still broken" in text_of(
        staff.get(response.headers["Location"])
    )
    assert stored(app, paid_event["id"]).outcome == "failed"
    assert len(alerts(app)) == 1


def test_replaying_a_handled_event_changes_nothing(app, client, staff, paid_event):
    assert post_event(client, paid_event).status_code == 200
    with app.app_context():
        messages = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    response = replay(staff, paid_event["id"])
    assert response.status_code == 409
    assert "did not fail, so it was not replayed" in text_of(response)
    assert stored(app, paid_event["id"]).outcome == "confirmed"
    assert count(app, Payment) == 1
    assert count(app, OutboxMessage) == messages
    assert replay(staff, "evt_unknown").status_code == 404


def test_concurrent_redeliveries_of_a_failed_event_run_it_once(
    app, client, paid_event, failing_once
):
    assert post_event(client, paid_event).status_code == 500
    body = json.dumps(paid_event).encode()
    start = threading.Barrier(6)
    statuses = []

    def deliver() -> None:
        shop = app.test_client()
        start.wait()
        statuses.append(
            shop.post("/webhooks/stripe", data=body,
                      headers={"Stripe-Signature": sign(body)}).get_json()["outcome"]
        )

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == ["confirmed"] + ["duplicate"] * 5
    assert len(failing_once) == 2  # the failure, then exactly one run again
    assert count(app, Payment) == 1
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED


def test_the_log_lists_filters_and_escapes(app, client, staff, paid_event, failing_once):
    assert post_event(client, paid_event).status_code == 500
    ignored = {"id": "evt_ignored_1", "object": "event", "type": "customer.created",
               "created": 1_700_000_000, "data": {"object": {"id": "cus_1", "name": "<i>x</i>"}}}
    assert post_event(client, ignored).status_code == 200
    page = staff.get("/staff/webhooks/").get_data(as_text=True)
    assert paid_event["id"] in page and "evt_ignored_1" in page
    assert "&lt;i&gt;x&lt;/i&gt;" in page and "<i>x</i>" not in page
    assert "&lt;b&gt;once&lt;/b&gt;" in page
    assert page.count("Replay</button>") == 1
    failed = staff.get("/staff/webhooks/?outcome=failed").get_data(as_text=True)
    assert paid_event["id"] in failed and "evt_ignored_1" not in failed
    typed = staff.get("/staff/webhooks/?type=customer.created").get_data(as_text=True)
    assert "evt_ignored_1" in typed and paid_event["id"] not in typed
    shown = staff.get("/staff/webhooks/evt_ignored_1").get_data(as_text=True)
    # Pretty-printed (one key a line, indented) and escaped.
    assert "&#34;name&#34;: &#34;&lt;i&gt;x&lt;/i&gt;&#34;" in shown
    assert "\n  &#34;data&#34;: {" in shown
    assert staff.get("/staff/webhooks/evt_nope").status_code == 404


@pytest.mark.parametrize("query", ["outcome=bogus", "page=0", "page=abc", "page=-1"])
def test_bad_filters_get_400(staff, query):
    assert staff.get(f"/staff/webhooks/?{query}").status_code == 400


def test_the_log_is_paginated(app, staff):
    with app.app_context():
        db.session.add_all(
            WebhookEvent(event_id=f"evt_{n:03d}", type="customer.created", outcome="ignored",
                         stripe_created_at=datetime.now(UTC), payload="{}")
            for n in range(55)
        )
        db.session.commit()
    first = staff.get("/staff/webhooks/").get_data(as_text=True)
    assert "evt_054" in first and "evt_005" in first and "evt_004" not in first
    assert 'rel="next"' in first
    second = staff.get("/staff/webhooks/?page=2").get_data(as_text=True)
    assert "evt_004" in second and "evt_000" in second and "evt_005" not in second
    assert 'rel="next"' not in second and 'rel="prev"' in second
