"""Every object the sandbox returns validates strictly against Stripe's OpenAPI schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import stripe

from stripe_sandbox import Sandbox

from .conftest import session_params
from .helpers import call
from .stripe_schema import StripeSchema

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "stripe" / "samples"


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_the_validator_accepts_stripes_samples_and_rejects_the_broken_one(
        schema: StripeSchema, sample: str) -> None:
    problems = schema.errors(json.loads((SAMPLES / sample).read_text()))
    if sample.startswith("NEGATIVE"):
        assert problems
    else:
        assert problems == []


def test_strict_mode_rejects_a_field_stripe_would_not_return(schema: StripeSchema) -> None:
    body = json.loads((SAMPLES / "checkout_session_open.json").read_text())
    body["order_total"] = 3998
    assert any("order_total" in problem for problem in schema.errors(body))
    assert schema.errors(body, strict=False) == []


def test_sessions_in_every_state_validate(app, sandbox: Sandbox, schema: StripeSchema) -> None:
    status, opened, _ = call(app, "POST", "/v1/checkout/sessions",
                             session_params(expand=["line_items"]))
    assert status == 200
    schema.check(opened)
    assert opened["line_items"]["object"] == "list"
    sandbox.pay(opened["id"])
    _, complete, _ = call(app, "GET", f"/v1/checkout/sessions/{opened['id']}",
                          {"expand": ["payment_intent", "line_items"]})
    schema.check(complete)
    assert complete["payment_intent"]["object"] == "payment_intent"

    _, other, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
    _, expired, _ = call(app, "POST", f"/v1/checkout/sessions/{other['id']}/expire")
    schema.check(expired)
    _, listed, _ = call(app, "GET", "/v1/checkout/sessions", {"limit": 5})
    schema.check(listed)
    assert [s["id"] for s in listed["data"]] == [other["id"], opened["id"]]


def test_line_items_payment_intents_refunds_and_errors_validate(
        app, sandbox: Sandbox, schema: StripeSchema) -> None:
    _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
    _, items, _ = call(app, "GET", f"/v1/checkout/sessions/{session['id']}/line_items")
    schema.check(items)
    sandbox.pay(session["id"], card="4000000000000002")  # a decline first
    _, declined_pi, _ = call(app, "GET", f"/v1/payment_intents/"
                             f"{sandbox.events()[0]['data']['object']['id']}")
    schema.check(declined_pi)
    assert declined_pi["last_payment_error"]["decline_code"] == "generic_decline"
    sandbox.pay(session["id"])
    _, session, _ = call(app, "GET", f"/v1/checkout/sessions/{session['id']}")
    _, pi, _ = call(app, "GET", f"/v1/payment_intents/{session['payment_intent']}",
                    {"expand": ["latest_charge"]})
    schema.check(pi)
    _, refund, _ = call(app, "POST", "/v1/refunds",
                        {"payment_intent": pi["id"], "amount": 100, "reason": "duplicate"})
    schema.check(refund)
    _, fetched, _ = call(app, "GET", f"/v1/refunds/{refund['id']}")
    assert schema.check(fetched) == refund
    for status, error in (
        call(app, "GET", "/v1/checkout/sessions/cs_test_missing")[:2],
        call(app, "POST", "/v1/refunds", {"payment_intent": pi["id"], "amount": 10**9})[:2],
        call(app, "GET", "/v1/events", key="sk_test_wrong")[:2],
    ):
        assert status in (400, 401, 404)
        schema.check(error, schema="error")


def test_every_event_and_its_snapshot_validates(app, sandbox: Sandbox,
                                                schema: StripeSchema) -> None:
    for card in ("4242424242424242", "4000000000005126"):
        _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
        sandbox.pay(session["id"], card=card)
        _, session, _ = call(app, "GET", f"/v1/checkout/sessions/{session['id']}")
        call(app, "POST", "/v1/refunds", {"payment_intent": session["payment_intent"]})
    for succeeded in (True, False):
        _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
        sandbox.pay(session["id"], method="bank_debit")
        sandbox.settle_async(session["id"], succeeded=succeeded)
    _, paid_by_bank, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
    sandbox.pay(paid_by_bank["id"], method="bank_debit")
    sandbox.settle_async(paid_by_bank["id"], succeeded=True)
    _, paid_by_bank, _ = call(app, "GET", f"/v1/checkout/sessions/{paid_by_bank['id']}")
    call(app, "POST", "/v1/refunds", {"payment_intent": paid_by_bank["payment_intent"]})
    _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
    call(app, "POST", f"/v1/checkout/sessions/{session['id']}/expire")
    sandbox.deliver_pending()  # settles the pending and the failing refund

    types = {event["type"] for event in sandbox.events()}
    assert types == {
        "checkout.session.completed", "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed", "checkout.session.expired",
        "payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded",
        "refund.created", "refund.updated", "refund.failed",
    }
    _, listed, _ = call(app, "GET", "/v1/events", {"limit": 100})
    schema.check(listed)
    assert len(listed["data"]) == len(sandbox.events())
    for event in listed["data"]:
        _, fetched, _ = call(app, "GET", f"/v1/events/{event['id']}")
        schema.check(fetched)


def test_the_sdk_parses_every_response_into_its_typed_objects(
        client: stripe.StripeClient, sandbox: Sandbox) -> None:
    session = client.v1.checkout.sessions.create(params=session_params(
        expand=["line_items"]))
    assert isinstance(session, stripe.checkout.Session)
    assert isinstance(session.line_items.data[0], stripe.LineItem)
    assert session.last_response.request_id.startswith("req_")
    assert session.last_response.idempotency_key
    sandbox.pay(session.id)
    session = client.v1.checkout.sessions.retrieve(session.id,
                                                   params={"expand": ["payment_intent"]})
    assert isinstance(session.payment_intent, stripe.PaymentIntent)
    assert session.payment_intent.status == "succeeded"
    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert isinstance(items, stripe.ListObject)
    assert [item.description for item in items.data] == ["T-shirt", "Socks"]
    refund = client.v1.refunds.create(params={"payment_intent": session.payment_intent.id})
    assert isinstance(refund, stripe.Refund)
    assert isinstance(client.v1.refunds.retrieve(refund.id), stripe.Refund)
    assert isinstance(client.v1.payment_intents.retrieve(session.payment_intent.id),
                      stripe.PaymentIntent)
    events = client.v1.events.list()
    assert all(isinstance(event, stripe.Event) for event in events.data)
    assert isinstance(client.v1.events.retrieve(events.data[0].id), stripe.Event)
    listed = client.v1.checkout.sessions.list(
        params={"payment_intent": session.payment_intent.id})
    assert [s.id for s in listed.data] == [session.id]
    expired = client.v1.checkout.sessions.expire(
        client.v1.checkout.sessions.create(params=session_params()).id)
    assert expired.status == "expired" and expired.url is None
