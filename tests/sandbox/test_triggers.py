"""Trigger controls acting on existing objects, in Python, over HTTP and on the CLI."""

from __future__ import annotations

import stripe

from stripe_sandbox import Sandbox

from .conftest import session_params, to_dict
from .helpers import call
from .stripe_schema import StripeSchema
from .test_http import control


def paid(app, sandbox: Sandbox, card: str = "4242424242424242") -> dict:
    _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
    assert sandbox.pay(session["id"], card=card).outcome == "succeeded"
    pi_id = sandbox.retrieve_session(session["id"])["payment_intent"]
    _, pi, _ = call(app, "GET", f"/v1/payment_intents/{pi_id}")
    return pi


def test_a_dashboard_refund_carries_no_key_or_metadata_and_emits_like_an_api_refund(
        app, client: stripe.StripeClient, sandbox: Sandbox, receiver,
        schema: StripeSchema) -> None:
    pi = paid(app, sandbox)
    refund = sandbox.dashboard_refund(pi["id"], amount=1000)
    schema.check(refund)
    assert (refund["amount"], refund["metadata"], refund["status"]) == (1000, {}, "succeeded")
    rest = sandbox.dashboard_refund(pi["latest_charge"])
    assert rest["amount"] == pi["amount"] - 1000
    sandbox.deliver_pending()
    assert receiver.types()[-4:] == ["refund.created", "charge.refunded",
                                     "refund.created", "charge.refunded"]
    created = [e for e in receiver.events if e.type == "refund.created"][0]
    assert created.request.id.startswith("req_")
    assert created.request.idempotency_key is None
    listed = client.v1.refunds.list(params={"payment_intent": pi["id"]})
    assert [r.id for r in listed.data] == [rest["id"], refund["id"]]
    charge = client.v1.charges.retrieve(pi["latest_charge"])
    assert (charge.amount_refunded, charge.refunded) == (pi["amount"], True)
    schema.check(to_dict(charge))


def test_a_dashboard_refund_refuses_what_stripe_refuses(app, sandbox: Sandbox) -> None:
    pi = paid(app, sandbox)
    status, body = control(app, "POST", "/refunds", target=pi["id"], amount=pi["amount"] + 1)
    assert (status, body["error"]["code"]) == (400, "amount_too_large")
    assert control(app, "POST", "/refunds", target="cs_nope")[0] == 400
    assert control(app, "POST", "/refunds")[0] == 400
    assert control(app, "POST", "/refunds", target=pi["id"], amount="ten")[0] == 400
    assert control(app, "POST", "/refunds", target="pi_missing")[0] == 404
    assert sandbox.events("refund.created") == []


def test_dashboard_refund_over_http_and_on_the_cli(app, sandbox: Sandbox) -> None:
    pi = paid(app, sandbox)
    status, refund = control(app, "POST", "/refunds", target=pi["id"], amount=500)
    assert (status, refund["object"], refund["amount"]) == (200, "refund", 500)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["sandbox", "dashboard-refund", pi["latest_charge"],
                              "--amount", "250"])
    assert out.exit_code == 0, out.output
    refund_id = out.output.split()[0]
    assert sandbox.retrieve_refund(refund_id)["amount"] == 250
    bad = runner.invoke(args=["sandbox", "dashboard-refund", pi["id"], "--amount", "999999"])
    assert bad.exit_code == 1 and "greater than unrefunded" in bad.output
    assert len(sandbox.events("refund.created")) == 2


def test_a_bank_debit_settles_either_way_from_each_control(app, sandbox: Sandbox) -> None:
    sessions = []
    for _ in range(4):
        _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
        sandbox.pay(session["id"], method="bank_debit")
        sessions.append(session["id"])
    assert sandbox.settle_async(sessions[0], succeeded=False)["payment_status"] == "unpaid"
    status, settled = control(app, "POST", "/settle", target=sessions[1], succeeded="true")
    assert settled["payment_status"] == "paid"
    runner = app.test_cli_runner()
    failed = runner.invoke(args=["sandbox", "settle", sessions[2], "--failed"])
    assert "payment_status=unpaid" in failed.output
    assert "payment_status=paid" in runner.invoke(args=["sandbox", "settle",
                                                        sessions[3]]).output
    failures = sandbox.events("checkout.session.async_payment_failed")
    assert sorted(e["data"]["object"]["id"] for e in failures) == sorted(
        [sessions[0], sessions[2]])
    assert len(sandbox.events("checkout.session.async_payment_succeeded")) == 2
