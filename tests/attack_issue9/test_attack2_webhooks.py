"""Attacks on signed events (issue 9, defect 3): what only a forged event would say."""

import copy

import pytest
from sqlalchemy import func, select

from checkout.domain.outcomes import Outcome
from checkout.extensions import db
from checkout.models import OrderEvent, OutboxMessage, Payment, Refund, StockMovement, WebhookEvent
from checkout.models.order import OrderFlag
from tests.shop import place_and_get_session
from tests.state import snapshot
from tests.test_webhook_hostile import COMPLETED
from tests.test_webhook_hostile import paid_events as paid_events  # the fixture
from tests.test_webhooks import post_event

DISPUTE = "charge.dispute.created"


def _side_effects(app) -> dict:
    with app.app_context():
        counts = {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                  for model in (OrderFlag, OrderEvent, OutboxMessage)}
        db.session.remove()
    return counts


def _recorded(app, event_id: str) -> tuple[str, str]:
    with app.app_context():
        row = db.session.scalar(select(WebhookEvent).where(WebhookEvent.event_id == event_id))
        db.session.remove()
        return row.outcome, row.detail


def test_a_dispute_the_provider_never_opened_flags_nothing_and_alerts_nobody(
        app, client, paid_events):
    # Before the fix a hand-built dispute naming a real payment flagged the order DISPUTED
    # and mailed every staff member to answer the bank by a date the forger chose: staff hold
    # the parcel, or refund a buyer who never disputed anything.
    assert post_event(client, paid_events[COMPLETED]).status_code == 200
    forged = copy.deepcopy(paid_events[DISPUTE])
    forged["id"] = "evt_forged_dispute"
    forged["data"]["object"]["id"] = "dp_forged"
    before = _side_effects(app)
    assert post_event(client, forged).status_code == 200
    assert _side_effects(app) == before
    outcome, detail = _recorded(app, forged["id"])
    assert outcome == Outcome.UNMATCHED and "dp_forged" in detail
    # The real dispute still flags the order.
    assert post_event(client, paid_events[DISPUTE]).status_code == 200
    with app.app_context():
        assert [f.code for f in db.session.scalars(select(OrderFlag))] == ["disputed"]
        db.session.remove()


def test_a_real_dispute_relabelled_with_another_payment_flags_the_disputed_order(
        app, client, sandbox, products, paid_events):
    # The dispute's id is real; the event's copy names another order's payment. What the
    # provider says the dispute is about is the order flagged, not the one the event names.
    assert post_event(client, paid_events[COMPLETED]).status_code == 200
    other_session = place_and_get_session(client, products["PEN"], 1)
    assert sandbox.pay(other_session).ok
    [completed] = [event for event in sandbox.events(COMPLETED)
                   if event["data"]["object"]["id"] == other_session]
    assert post_event(client, completed).status_code == 200
    other_intent = sandbox.retrieve_session(other_session)["payment_intent"]
    disputed_intent = paid_events[DISPUTE]["data"]["object"]["payment_intent"]
    relabelled = copy.deepcopy(paid_events[DISPUTE])
    relabelled["id"] = "evt_relabelled_dispute"
    relabelled["data"]["object"]["payment_intent"] = other_intent
    relabelled["data"]["object"]["amount"] = 1
    assert post_event(client, relabelled).status_code == 200
    with app.app_context():
        flagged = [(f.order_id, f.detail) for f in db.session.scalars(select(OrderFlag))]
        disputed_order = db.session.scalar(
            select(Payment.order_id).where(Payment.payment_intent_id == disputed_intent))
        db.session.remove()
    assert len(flagged) == 1
    assert flagged[0][0] == disputed_order
    assert "$0.01" not in flagged[0][1]


def _state(app) -> dict:
    with app.app_context():
        counts = {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                  for model in (OrderFlag, OrderEvent, OutboxMessage, Payment, Refund,
                                StockMovement)}
        db.session.remove()
    return {**snapshot(app), **counts}


def test_real_events_replayed_under_new_event_ids_change_nothing_more(app, client, paid_events):
    # Whoever holds the secret can resend Stripe's own events under fresh ids (the id is the
    # only thing that makes a delivery a duplicate): no side effect may happen twice.
    for event in paid_events.values():
        assert post_event(client, event).status_code == 200
    once = _state(app)
    for round_ in range(2):
        for event in paid_events.values():
            replay = copy.deepcopy(event)
            replay["id"] = f"{event['id']}_replay{round_}"
            assert post_event(client, replay).status_code == 200
    after = _state(app)
    assert {**after, "WebhookEvent": 0} == {**once, "WebhookEvent": 0}


@pytest.mark.parametrize("type_", ["refund.created", "charge.refunded"])
def test_an_event_naming_a_payment_the_provider_never_took_is_answered_without_a_500(
        app, client, paid_events, type_):
    assert post_event(client, paid_events[COMPLETED]).status_code == 200
    forged = copy.deepcopy(paid_events[type_])
    forged["id"] = f"evt_forged_{type_}"
    forged["data"]["object"]["payment_intent"] = "pi_never_made"
    before = _state(app)
    answer = post_event(client, forged)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert _state(app) == before
    outcome, _ = _recorded(app, forged["id"])
    assert outcome in (Outcome.UNMATCHED, Outcome.STALE)


def test_a_real_refund_relabelled_with_another_orders_payment_refunds_nothing_there(
        app, client, sandbox, products, paid_events):
    assert post_event(client, paid_events[COMPLETED]).status_code == 200
    other_session = place_and_get_session(client, products["PEN"], 1)
    assert sandbox.pay(other_session).ok
    [completed] = [event for event in sandbox.events(COMPLETED)
                   if event["data"]["object"]["id"] == other_session]
    assert post_event(client, completed).status_code == 200
    other_intent = sandbox.retrieve_session(other_session)["payment_intent"]
    relabelled = copy.deepcopy(paid_events["refund.created"])
    relabelled["id"] = "evt_relabelled_refund"
    relabelled["data"]["object"]["payment_intent"] = other_intent
    before = _state(app)
    assert post_event(client, relabelled).status_code == 200
    assert _state(app) == before
    outcome, detail = _recorded(app, relabelled["id"])
    assert outcome == Outcome.UNMATCHED and other_intent in detail


@pytest.mark.parametrize("object_id", ["cs_../../v1/refunds", "cs_/", "cs_test_a/b", "dp_..%2Fx"])
@pytest.mark.parametrize("type_", [COMPLETED, "checkout.session.expired", DISPUTE])
def test_an_object_id_that_is_a_path_is_refused_before_any_provider_call(
        app, client, paid_events, type_, object_id):
    # The id is put in the URL of the provider call (GET /v1/checkout/sessions/<id>,
    # /v1/disputes/<id>): before the fix "cs_../../v1/refunds" asked Stripe for another
    # resource with the shop's secret key; the call failed, the event was recorded FAILED,
    # staff were alerted and the delivery answered 500, so it came back for three days.
    forged = copy.deepcopy(paid_events.get(type_) or paid_events[COMPLETED])
    forged["type"], forged["id"] = type_, "evt_path_id"
    forged["data"]["object"]["id"] = object_id
    before = _state(app)
    answer = post_event(client, forged)
    assert answer.status_code == 400
    assert "id" in answer.get_json()["error"]
    assert _state(app) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
        db.session.remove()
