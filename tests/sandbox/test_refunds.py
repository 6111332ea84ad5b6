"""Refunds through the SDK: listing them, reading charges, and refunds that fail later."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox import Sandbox

from .conftest import session_params, to_dict
from .helpers import call
from .stripe_schema import StripeSchema

FAILS_LATER = "4000000000005126"


def paid_intent(client: stripe.StripeClient, sandbox: Sandbox, card: str = "4242424242424242"
                ) -> stripe.PaymentIntent:
    session = client.v1.checkout.sessions.create(params=session_params())
    assert sandbox.pay(session.id, card=card).outcome == "succeeded"
    session = client.v1.checkout.sessions.retrieve(session.id)
    return client.v1.payment_intents.retrieve(session.payment_intent)


def test_refunds_list_by_payment_intent_newest_first_and_pages_through_the_sdk(
        client: stripe.StripeClient, sandbox: Sandbox, schema: StripeSchema) -> None:
    pi = paid_intent(client, sandbox)
    other = paid_intent(client, sandbox)
    made = [client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 100})
            for _ in range(3)]
    client.v1.refunds.create(params={"payment_intent": other.id, "amount": 50})

    page = client.v1.refunds.list(params={"payment_intent": pi.id, "limit": 2})
    schema.check(to_dict(page))
    assert page.url == "/v1/refunds"
    assert [r.id for r in page.data] == [made[2].id, made[1].id]
    assert page.has_more is True
    every = client.v1.refunds.list(params={"payment_intent": pi.id, "limit": 2})
    assert [r.id for r in every.auto_paging_iter()] == [r.id for r in reversed(made)]

    by_charge = client.v1.refunds.list(params={"charge": pi.latest_charge, "limit": 100})
    assert [r.id for r in by_charge.data] == [r.id for r in reversed(made)]
    before = client.v1.refunds.list(params={"payment_intent": pi.id,
                                            "ending_before": made[0].id})
    assert [r.id for r in before.data] == [made[2].id, made[1].id]
    assert len(client.v1.refunds.list().data) == 4
    expanded = client.v1.refunds.list(params={"payment_intent": other.id,
                                              "expand": ["data.charge"]})
    assert expanded.data[0].charge.id == other.latest_charge
    schema.check(to_dict(expanded))


def test_refund_list_rejects_bad_filters_with_stripes_errors(app, client, sandbox) -> None:
    status, body, _ = call(app, "GET", "/v1/refunds", {"colour": "red"})
    assert (status, body["error"]["code"]) == (400, "parameter_unknown")
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.refunds.list(params={"charge": "ch_missing"})
    assert missing.value.code == "resource_missing"
    status, body, _ = call(app, "GET", "/v1/refunds", {"limit": 101})
    assert status == 400


def test_a_charge_is_retrieved_and_expanded_like_the_other_resources(
        client: stripe.StripeClient, sandbox: Sandbox, schema: StripeSchema) -> None:
    pi = paid_intent(client, sandbox)
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert isinstance(charge, stripe.Charge)
    schema.check(to_dict(charge))
    assert (charge.amount, charge.payment_intent, charge.status) == (pi.amount, pi.id,
                                                                     "succeeded")
    expanded = client.v1.charges.retrieve(pi.latest_charge,
                                          params={"expand": ["payment_intent"]})
    assert expanded.payment_intent.id == pi.id
    schema.check(to_dict(expanded))
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.charges.retrieve("ch_missing")
    assert missing.value.http_status == 404


def test_a_5126_refund_reports_succeeded_then_fails_and_gives_the_amount_back(
        client: stripe.StripeClient, sandbox: Sandbox, receiver, schema: StripeSchema) -> None:
    pi = paid_intent(client, sandbox, FAILS_LATER)
    refund = client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 700})
    assert refund.status == "succeeded"
    assert client.v1.charges.retrieve(pi.latest_charge).amount_refunded == 700

    sandbox.deliver_pending()

    failed = client.v1.refunds.retrieve(refund.id)
    assert (failed.status, failed.failure_reason) == ("failed", "expired_or_canceled_card")
    schema.check(to_dict(failed))
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    refund_events = [e for e in receiver.events if e.type.startswith("refund.")]
    assert [e.type for e in refund_events] == ["refund.created", "refund.updated",
                                              "refund.failed"]
    updated = refund_events[1]
    assert updated.data.previous_attributes.status == "succeeded"
    assert refund_events[2].data.object.status == "failed"
    for event in refund_events:
        schema.check(to_dict(event))
    sandbox.deliver_pending()
    assert [e.type for e in receiver.events].count("refund.failed") == 1


def test_an_ordinary_card_refund_never_fails(client, sandbox, receiver) -> None:
    pi = paid_intent(client, sandbox)
    refund = client.v1.refunds.create(params={"payment_intent": pi.id})
    sandbox.deliver_pending()
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
    assert "refund.failed" not in receiver.types()
