"""Disputes: the 0259 test card, the dispute control (Python, HTTP, CLI) and GET /v1/disputes."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox import Sandbox

from .conftest import session_params, to_dict
from .helpers import call
from .stripe_schema import StripeSchema
from .test_http import control
from .test_refunds import paid_intent

DISPUTE_CARD = "4000000000000259"


def test_the_0259_card_pays_then_is_disputed_as_fraudulent(
        client: stripe.StripeClient, sandbox: Sandbox, receiver, schema: StripeSchema) -> None:
    pi = paid_intent(client, sandbox, DISPUTE_CARD)
    assert pi.status == "succeeded"
    sandbox.deliver_pending()
    assert receiver.types() == ["checkout.session.completed", "payment_intent.succeeded",
                                "charge.dispute.created"]
    event = receiver.events[-1]
    schema.check(to_dict(event))
    dispute = event.data.object
    assert isinstance(dispute, stripe.Dispute)
    assert (dispute.status, dispute.reason, dispute.amount, dispute.charge) == (
        "needs_response", "fraudulent", pi.amount, pi.latest_charge)
    assert client.v1.charges.retrieve(pi.latest_charge).disputed is True

    fetched = client.v1.disputes.retrieve(dispute.id)
    assert to_dict(fetched) == to_dict(dispute)
    schema.check(to_dict(fetched))
    expanded = client.v1.disputes.retrieve(dispute.id, params={"expand": ["charge"]})
    assert expanded.charge.disputed is True
    schema.check(to_dict(expanded))
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.disputes.retrieve("dp_missing")
    assert missing.value.http_status == 404


def test_an_ordinary_card_is_not_disputed(client, sandbox, receiver) -> None:
    pi = paid_intent(client, sandbox)
    sandbox.deliver_pending()
    assert "charge.dispute.created" not in receiver.types()
    assert client.v1.charges.retrieve(pi.latest_charge).disputed is False


def test_a_dispute_opens_on_any_succeeded_charge_from_each_control(
        app, client: stripe.StripeClient, sandbox: Sandbox, schema: StripeSchema) -> None:
    by_python = paid_intent(client, sandbox)
    dispute = schema.check(sandbox.open_dispute(by_python.id))
    assert (dispute["charge"], dispute["amount"]) == (by_python.latest_charge,
                                                      by_python.amount)
    status, again = control(app, "POST", "/disputes", target=by_python.latest_charge)
    assert (status, again["error"]["code"]) == (400, "charge_disputed")

    by_http = paid_intent(client, sandbox)
    status, dispute = control(app, "POST", "/disputes", target=by_http.latest_charge)
    assert (status, dispute["object"], dispute["payment_intent"]) == (200, "dispute",
                                                                      by_http.id)
    by_cli = paid_intent(client, sandbox)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["sandbox", "dispute", by_cli.id])
    assert out.exit_code == 0, out.output
    assert client.v1.disputes.retrieve(out.output.split()[0]).charge == by_cli.latest_charge
    assert runner.invoke(args=["sandbox", "dispute", "pi_missing"]).exit_code == 1
    assert control(app, "POST", "/disputes", target="cs_x")[0] == 400
    _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
    sandbox.pay(session["id"], method="bank_debit")
    pending_pi = sandbox.retrieve_session(session["id"])["payment_intent"]
    status, body = control(app, "POST", "/disputes", target=pending_pi)
    assert (status, body["error"]["param"]) == (400, "charge")
    assert control(app, "POST", "/disputes")[0] == 400
    assert len(sandbox.events("charge.dispute.created")) == 3
    for pi in (by_python, by_http, by_cli):
        assert client.v1.charges.retrieve(pi.latest_charge).disputed is True
