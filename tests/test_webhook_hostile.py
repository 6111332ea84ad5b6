"""Signed but hostile webhooks: malformed shapes answer 400, forged facts change nothing.

Each body here carries a valid signature (whoever holds the webhook secret can send it), so
the signature check cannot be what stops it: the event's shape is checked before anything is
written, and what a session event claims is checked against the provider's own copy.
"""

import copy
import json
import time

import pytest
from sqlalchemy import func, select

from checkout.domain.order_status import OrderStatus
from checkout.domain.outcomes import Outcome
from checkout.domain.payment_status import PaymentStatus
from checkout.extensions import db
from checkout.models import OrderEvent, OutboxMessage, Payment, StockMovement, WebhookEvent
from tests.shop import place_and_get_session
from tests.state import only_order, snapshot, stock_of
from tests.test_webhooks import count, post_event


def _everything(app) -> dict:
    """The shop's state plus the rows a handler writes on the side."""
    state = snapshot(app)
    with app.app_context():
        for model in (WebhookEvent, OutboxMessage, StockMovement, OrderEvent):
            state[model.__name__] = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
    return state


@pytest.fixture
def paid_events(app, client, sandbox, products) -> dict[str, dict]:
    """A paid, partly refunded and disputed order whose events were not delivered: by type."""
    session_id = place_and_get_session(client, products["MUG"], 2)
    assert sandbox.pay(session_id).ok
    payment_intent = sandbox.retrieve_session(session_id)["payment_intent"]
    sandbox.dashboard_refund(payment_intent, amount=800)
    sandbox.open_dispute(payment_intent)
    return {event["type"]: event for event in sandbox.events()}


def _set(path: str, value):
    def change(event: dict) -> None:
        *parents, last = path.split(".")
        target = event
        for key in parents:
            target = target[key]
        target[last] = value
    return change


def _drop(path: str):
    def change(event: dict) -> None:
        *parents, last = path.split(".")
        target = event
        for key in parents:
            target = target[key]
        del target[last]
    return change


COMPLETED = "checkout.session.completed"
MALFORMED = [
    (COMPLETED, "object is a string", _set("data.object", "cs_test_123")),
    (COMPLETED, "object is a list", _set("data.object", [{"id": "cs_test_123"}])),
    (COMPLETED, "object is null", _set("data.object", None)),
    (COMPLETED, "no data", _drop("data")),
    (COMPLETED, "data is a number", _set("data", 5)),
    (COMPLETED, "created is a string", _set("created", "1700000000")),
    (COMPLETED, "created is 10^20", _set("created", 10**20)),
    (COMPLETED, "created is negative", _set("created", -5)),
    (COMPLETED, "created is a bool", _set("created", True)),
    (COMPLETED, "created is a float", _set("created", 1.7e9)),
    (COMPLETED, "no created", _drop("created")),
    (COMPLETED, "no id", _drop("id")),
    (COMPLETED, "id is a number", _set("id", 12)),
    (COMPLETED, "id is empty", _set("id", "")),
    (COMPLETED, "id is 10k long", _set("id", "evt_" + "x" * 10_000)),
    (COMPLETED, "id has a NUL", _set("id", "evt_\x00")),
    (COMPLETED, "no type", _drop("type")),
    (COMPLETED, "type is a list", _set("type", [COMPLETED])),
    (COMPLETED, "type is 150 long", _set("type", "x" * 150)),
    (COMPLETED, "session without id", _drop("data.object.id")),
    (COMPLETED, "session id is a number", _set("data.object.id", 7)),
    (COMPLETED, "session id has a NUL", _set("data.object.id", "cs_test_\x00")),
    (COMPLETED, "session without payment_intent", _drop("data.object.payment_intent")),
    (COMPLETED, "amount_total is a string", _set("data.object.amount_total", "4800")),
    (COMPLETED, "metadata is a string", _set("data.object.metadata", "x")),
    (COMPLETED, "status is a dict", _set("data.object.status", {"a": 1})),
    ("checkout.session.expired", "expires_at is a string",
     _set("data.object.expires_at", "tomorrow")),
    ("checkout.session.expired", "expires_at is 10^20", _set("data.object.expires_at", 10**20)),
    ("charge.refunded", "charge without payment_intent", _drop("data.object.payment_intent")),
    ("charge.refunded", "payment_intent is a number", _set("data.object.payment_intent", 9)),
    ("charge.refunded", "payment_intent is a list", _set("data.object.payment_intent", ["pi"])),
    ("charge.refunded", "payment_intent has a NUL", _set("data.object.payment_intent", "pi_\x00x")),
    ("charge.refunded", "payment_intent has a newline",
     _set("data.object.payment_intent", "pi_1\nforged")),
    ("charge.refunded", "expanded payment_intent's id has a NUL",
     _set("data.object.payment_intent", {"id": "pi_\x00"})),
    ("refund.created", "refund payment_intent has a NUL",
     _set("data.object.payment_intent", "pi_\x00x")),
    ("charge.dispute.created", "dispute payment_intent has a NUL",
     _set("data.object.payment_intent", "pi_\x00x")),
    ("refund.created", "refund amount is a string", _set("data.object.amount", "800")),
    ("refund.created", "refund without id", _drop("data.object.id")),
    ("charge.dispute.created", "dispute without payment_intent",
     _drop("data.object.payment_intent")),
    ("charge.dispute.created", "dispute amount is 10^20", _set("data.object.amount", 10**20)),
    ("charge.dispute.created", "due_by is 10^20",
     _set("data.object.evidence_details.due_by", 10**20)),
    ("charge.dispute.created", "dispute id has a NUL", _set("data.object.id", "dp_\x00")),
    ("charge.dispute.created", "dispute reason has a NUL", _set("data.object.reason", "a\x00")),
    ("charge.dispute.created", "dispute charge is a list", _set("data.object.charge", ["ch"])),
    ("charge.dispute.created", "evidence_details is a string",
     _set("data.object.evidence_details", "soon")),
    ("refund.created", "refund metadata is a string", _set("data.object.metadata", "x")),
    ("customer.created", "unknown type whose object id is a dict",
     _set("data.object.id", {"x": 1})),
]


@pytest.mark.parametrize(("type_", "what", "change"), MALFORMED,
                         ids=[what for _, what, _ in MALFORMED])
def test_a_signed_malformed_event_answers_400_and_changes_nothing(
    app, client, paid_events, type_, what, change, monkeypatch
):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # a crash answers 500
    event = copy.deepcopy(paid_events.get(type_) or paid_events[COMPLETED])
    if type_ not in paid_events:
        event["type"] = type_
    change(event)
    before = _everything(app)
    response = post_event(client, event)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "error" in response.get_json()
    assert _everything(app) == before
    # Nothing to show in the webhook log either: a body the shop cannot read is no event.
    assert count(app, WebhookEvent) == 0


def test_an_event_from_the_future_is_refused(app, client, paid_events):
    event = paid_events[COMPLETED]
    event["created"] = int(time.time()) + 3600
    before = _everything(app)
    response = post_event(client, event)
    assert response.status_code == 400
    assert "future" in response.get_json()["error"]
    assert _everything(app) == before


def test_a_clock_a_little_ahead_is_tolerated(app, client, paid_events):
    event = paid_events[COMPLETED]
    event["created"] = int(time.time()) + 120
    response = post_event(client, event)
    assert response.status_code == 200
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED


def test_the_sandbox_clock_moved_forward_is_the_providers_clock(app, client, sandbox,
                                                                 products):
    """An expiry event stamped by a sandbox clock advanced 31 minutes is not from the future."""
    place_and_get_session(client, products["PEN"], 1)
    sandbox.advance_clock(31 * 60)
    results = sandbox.deliver_pending()
    assert [r.status_code for r in results] == [200]
    assert only_order(app).status == OrderStatus.EXPIRED


# What the event says is not what happened: the provider's copy decides ---------------------

def _session_event(sandbox, session_id: str, type_: str, **claims) -> dict:
    """An event built by hand around the provider's real session, with `claims` in it."""
    session = {**sandbox.retrieve_session(session_id), **claims}
    return {
        "id": f"evt_forged_{type_.rsplit('.', 1)[1]}", "object": "event", "type": type_,
        "api_version": "2026-10-28.endive", "created": int(time.time()), "livemode": False,
        "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
        "data": {"object": session},
    }


def _recorded(app, event_id: str) -> tuple[str, str]:
    with app.app_context():
        row = db.session.scalar(select(WebhookEvent).where(WebhookEvent.event_id == event_id))
        return row.outcome, row.detail


def test_a_forged_completion_of_an_open_session_leaves_the_order_unpaid(
    app, client, sandbox, products
):
    session_id = place_and_get_session(client, products["MUG"], 2)
    forged = _session_event(sandbox, session_id, COMPLETED, status="complete",
                            payment_status="paid", url=None)
    before = _everything(app)
    response = post_event(client, forged)
    assert response.status_code == 200
    assert only_order(app).status == OrderStatus.PENDING_PAYMENT
    assert stock_of(app, products["MUG"]) == (20, 2)
    # No payment, stock movement, timeline line or mail: only the event's own log row.
    assert _everything(app) == {**before, "WebhookEvent": 1}
    outcome, detail = _recorded(app, forged["id"])
    assert outcome == Outcome.NOT_COMPLETE
    assert "open" in detail and "unpaid" in detail
    # The shopper can still pay, and then the order is paid as usual.
    assert sandbox.pay(session_id).ok
    sandbox.deliver_pending()
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED


def test_a_forged_async_success_of_a_processing_debit_leaves_it_processing(
    app, client, sandbox, products
):
    session_id = place_and_get_session(client, products["PEN"], 1)
    assert sandbox.pay(session_id, method="bank_debit").outcome == "processing"
    sandbox.deliver_pending()
    assert only_order(app).status == OrderStatus.PAYMENT_PROCESSING
    forged = _session_event(sandbox, session_id, "checkout.session.async_payment_succeeded",
                            payment_status="paid")
    assert post_event(client, forged).status_code == 200
    assert only_order(app).status == OrderStatus.PAYMENT_PROCESSING
    assert stock_of(app, products["PEN"]) == (3, 1)
    with app.app_context():
        assert db.session.scalar(select(Payment)).status == PaymentStatus.PROCESSING


def test_a_forged_failure_of_a_processing_debit_leaves_it_processing(
    app, client, sandbox, products
):
    session_id = place_and_get_session(client, products["PEN"], 1)
    sandbox.pay(session_id, method="bank_debit")
    sandbox.deliver_pending()
    forged = _session_event(sandbox, session_id, "checkout.session.async_payment_failed")
    assert post_event(client, forged).status_code == 200
    assert only_order(app).status == OrderStatus.PAYMENT_PROCESSING
    with app.app_context():
        assert db.session.scalar(select(Payment)).status == PaymentStatus.PROCESSING
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    outcome, detail = _recorded(app, forged["id"])
    assert outcome == Outcome.STALE and "processing" in detail
    # The real settlement still lands.
    sandbox.settle_async(session_id, succeeded=True)
    sandbox.deliver_pending()
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED


def test_a_forged_expiry_of_an_open_session_keeps_the_hold(app, client, sandbox, products):
    session_id = place_and_get_session(client, products["PEN"], 2)
    session = sandbox.retrieve_session(session_id)
    forged = _session_event(sandbox, session_id, "checkout.session.expired", status="expired",
                            url=None)
    forged["created"] = min(int(time.time()), session["expires_at"])
    assert post_event(client, forged).status_code == 200
    assert only_order(app).status == OrderStatus.PENDING_PAYMENT
    assert stock_of(app, products["PEN"]) == (3, 2)
    outcome, detail = _recorded(app, forged["id"])
    assert outcome == Outcome.STALE and "open" in detail


def test_a_forged_amount_in_a_real_completion_is_ignored(app, client, sandbox, paid_events):
    """The provider's copy of the paid session is what is applied, not the event's numbers."""
    event = copy.deepcopy(paid_events[COMPLETED])
    event["data"]["object"]["amount_total"] = 1
    assert post_event(client, event).status_code == 200
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED
    with app.app_context():
        assert db.session.scalar(select(Payment.amount)) == 4800


def test_an_event_for_a_session_the_provider_never_made_matches_nothing(
    app, client, sandbox, paid_events
):
    event = copy.deepcopy(paid_events[COMPLETED])
    event["data"]["object"]["id"] = "cs_test_forged"
    before = snapshot(app)
    assert post_event(client, event).status_code == 200
    assert snapshot(app) == before
    outcome, detail = _recorded(app, event["id"])
    assert outcome == Outcome.UNMATCHED and "cs_test_forged" in detail


@pytest.mark.parametrize(("field", "value", "why"), [
    ("id", "re_forged", "the provider knows no refund re_forged"),
    ("payment_intent", None, "names no payment"),
])
def test_a_refund_the_provider_never_made_changes_nothing(app, client, sandbox, paid_events,
                                                           field, value, why):
    assert post_event(client, paid_events[COMPLETED]).status_code == 200
    event = copy.deepcopy(paid_events["refund.created"])
    event["data"]["object"][field] = value
    before = _everything(app)
    assert post_event(client, event).status_code == 200
    assert _everything(app) == {**before, "WebhookEvent": before["WebhookEvent"] + 1}
    outcome, detail = _recorded(app, event["id"])
    assert outcome == Outcome.UNMATCHED and why in detail


def test_event_bodies_are_stored_as_sent(app, client, paid_events):
    event = paid_events[COMPLETED]
    body = json.dumps(event).encode()
    assert post_event(client, event, payload=body).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(WebhookEvent.payload)) == body.decode()
