"""The sandbox over a real socket (global stripe.api_base), its HTTP controls and its CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from stripe_sandbox import Sandbox

from .conftest import API_KEY, make_app, receiver_app, session_params
from .helpers import call
from .test_webhooks import serve


class LateApp:
    """A WSGI app filled in once the server's port (and so the app's URL) is known."""

    wsgi: Any = None

    def __call__(self, environ, start_response):
        assert self.wsgi is not None
        return self.wsgi(environ, start_response)


def test_the_global_sdk_works_over_real_http(tmp_path: Path, monkeypatch) -> None:
    late = LateApp()
    with serve(late) as url:
        # Mounted under a prefix beside the app that receives its webhooks, as a shop does.
        sandbox_app = make_app(tmp_path / "http.sqlite", PUBLIC_URL=f"{url}/sandbox/stripe",
                               WEBHOOK_URL=f"{url}/webhooks/stripe")
        receiver = sandbox_app.extensions["receiver"]
        late.wsgi = DispatcherMiddleware(receiver_app(receiver),
                                         {"/sandbox/stripe": sandbox_app})
        sandbox = sandbox_app.extensions["sandbox"]
        http = stripe.RequestsClient()
        browser = requests.Session()
        monkeypatch.setattr(stripe, "api_base", f"{url}/sandbox/stripe")
        monkeypatch.setattr(stripe, "api_key", API_KEY)
        monkeypatch.setattr(stripe, "default_http_client", http)
        try:
            session = stripe.checkout.Session.create(**session_params(),
                                                     idempotency_key="order-1")
            again = stripe.checkout.Session.create(**session_params(),
                                                   idempotency_key="order-1")
            assert isinstance(session, stripe.checkout.Session) and again.id == session.id
            assert session.url == f"{url}/sandbox/stripe/pay/{session.id}"
            page = browser.get(session.url)
            assert page.status_code == 200 and "Pay $44.98" in page.text
            paid = browser.post(session.url, allow_redirects=False, data={
                "email": "a@b.c", "name": "A B", "number": "4242424242424242",
                "exp": "12/40", "cvc": "123", "method": "card"})
            assert paid.status_code == 303
            fetched = stripe.checkout.Session.retrieve(session.id, expand=["payment_intent"])
            assert fetched.payment_intent.status == "succeeded"
            refund = stripe.Refund.create(payment_intent=fetched.payment_intent.id, amount=500)
            assert isinstance(refund, stripe.Refund) and refund.amount == 500
            items = stripe.checkout.Session.list_line_items(session.id)
            assert [i.quantity for i in items.data] == [2, 1]
            assert isinstance(stripe.PaymentIntent.retrieve(fetched.payment_intent.id),
                              stripe.PaymentIntent)
            with pytest.raises(stripe.InvalidRequestError) as caught:
                stripe.checkout.Session.retrieve("cs_test_gone")
            assert caught.value.code == "resource_missing"
            with pytest.raises(stripe.AuthenticationError):
                stripe.Event.list(api_key="sk_test_wrong")
            # Delivery over a real socket back to the same server.
            results = sandbox.deliver_pending()
            assert {r.status_code for r in results} == {200}
            assert receiver.types() == [
                "checkout.session.completed", "payment_intent.succeeded", "refund.created",
                "charge.refunded"]
            assert [e.type for e in stripe.Event.list(limit=2).data] == [
                "charge.refunded", "refund.created"]
        finally:
            http.close()
            browser.close()
            sandbox.close()


def control(app: Flask, verb: str, path: str, key: str = API_KEY, **data):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    if verb == "GET":
        response = client.get(f"/_controls{path}", headers=headers,
                              query_string=data)
    else:
        response = client.post(f"/_controls{path}", headers=headers, json=data)
    return response.status_code, response.get_json()


def test_the_controls_over_http(app, sandbox: Sandbox, receiver) -> None:
    assert control(app, "GET", "/clock", key="sk_test_bad")[0] == 401
    _, session, _ = call(app, "POST", "/v1/checkout/sessions",
                         session_params(expires_at=sandbox.now() + 1800))
    _, other, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
    status, result = control(app, "POST", f"/sessions/{other['id']}/pay", method="bank_debit")
    assert (status, result["outcome"]) == (200, "processing")
    status, settled = control(app, "POST", "/settle", target=other["id"], succeeded=False)
    assert settled["payment_status"] == "unpaid"
    status, _ = control(app, "POST", "/endpoint_down", seconds=5)
    status, delivered = control(app, "POST", "/deliver")
    assert {d["status_code"] for d in delivered} == {503}
    now = control(app, "GET", "/clock")[1]["now"]
    assert control(app, "POST", "/clock/advance", seconds=1800)[1]["now"] >= now + 1800
    status, delivered = control(app, "POST", "/deliver")
    assert all(d["ok"] for d in delivered) and len(delivered) == 4
    assert "checkout.session.expired" in receiver.types()
    events = control(app, "GET", "/events", type="checkout.session.expired")[1]
    assert [e["data"]["object"]["id"] for e in events] == [session["id"]]
    assert control(app, "POST", f"/events/{events[0]['id']}/resend")[0] == 200
    assert len(control(app, "POST", "/deliver")[1]) == 1
    attempts = control(app, "GET", "/attempts", event_id=events[0]["id"])[1]
    assert [a["ok"] for a in attempts] == [True, True]
    assert control(app, "POST", "/events/evt_nope/resend")[0] == 404


def _delivered(output: str) -> int:
    """Deliveries the CLI reports as ok (log lines the app writes beside them aside)."""
    return sum(line.startswith("ok ") for line in output.splitlines())


def test_the_cli(app, sandbox: Sandbox, receiver) -> None:
    runner = app.test_cli_runner()
    _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
    paid = runner.invoke(args=["sandbox", "pay", session["id"], "--bank-debit"])
    assert json.loads(paid.output)["outcome"] == "processing"
    settled = runner.invoke(args=["sandbox", "settle", session["id"]])
    assert "payment_status=paid" in settled.output
    assert runner.invoke(args=["sandbox", "settle", session["id"]]).exit_code == 1
    assert "down until" in runner.invoke(args=["sandbox", "endpoint-down", "0"]).output
    output = runner.invoke(args=["sandbox", "deliver"]).output
    assert _delivered(output) == 3
    events = runner.invoke(args=["sandbox", "events", "--type",
                                 "checkout.session.completed"]).output
    event_id = events.split()[0]
    assert "queued" in runner.invoke(args=["sandbox", "resend", event_id]).output
    assert _delivered(runner.invoke(args=["sandbox", "deliver"]).output) == 1
    assert "attempt 1" in runner.invoke(args=["sandbox", "attempts"]).output
    before = int(runner.invoke(args=["sandbox", "now"]).output)
    after = int(runner.invoke(args=["sandbox", "advance-clock", "60"]).output)
    assert after >= before + 60


def test_the_sandbox_refuses_live_keys_and_malformed_settings(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="sk_test_"):
        make_app(tmp_path / "p.sqlite", API_KEY="sk_live_nope")
    with pytest.raises(RuntimeError, match="whsec_"):
        make_app(tmp_path / "p.sqlite", WEBHOOK_SECRET="secret")
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        make_app(tmp_path / "p.sqlite", PUBLIC_URL="http://sandbox.test/")


def test_the_clock_can_be_put_back_on_the_wall_clock(app, sandbox) -> None:
    import time

    sandbox.advance_clock(3 * 3600)
    assert sandbox.now() >= time.time() + 3 * 3600 - 5
    status, body = control(app, "POST", "/clock/reset")
    assert status == 200 and abs(body["now"] - time.time()) < 5
    # A shop that computes expires_at from real time can create sessions again.
    status, _, _ = call(app, "POST", "/v1/checkout/sessions",
                        session_params(expires_at=int(time.time()) + 1800))
    assert status == 200
