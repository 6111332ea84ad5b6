"""The 3-D Secure challenge card (4000 0025 0000 3155) on the hosted page and in Python."""

from __future__ import annotations

import json

import stripe

from stripe_sandbox import Sandbox

from .conftest import BASE, session_params, to_dict
from .helpers import call
from .stripe_schema import StripeSchema
from .test_http import control
from .test_page import CARD_FORM, open_session, page_path

CHALLENGE_CARD = "4000 0025 0000 3155"


def submit_challenge_card(app, session: dict):
    browser = app.test_client()
    response = browser.post(page_path(session), data={**CARD_FORM, "number": CHALLENGE_CARD})
    return browser, response


def test_the_card_stops_at_a_challenge_page_without_javascript(app, sandbox: Sandbox) -> None:
    session = open_session(app)
    browser, response = submit_challenge_card(app, session)
    assert response.status_code == 303
    challenge = response.headers["Location"]
    assert challenge.endswith(f"/pay/{session['id']}/authenticate")
    page = browser.get(challenge)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Complete authentication" in html and "Fail authentication" in html
    assert f'/pay/{session["id"]}/authenticate"' in html
    assert "<script" not in html
    assert sandbox.retrieve_session(session["id"])["status"] == "open"
    pi = sandbox.retrieve_payment_intent(sandbox.events("payment_intent.requires_action")[0]
                                         ["data"]["object"]["id"])
    assert pi["status"] == "requires_action"


def test_completing_the_challenge_pays_as_a_normal_card(app, sandbox: Sandbox, receiver,
                                                       schema: StripeSchema) -> None:
    session = open_session(app)
    browser, response = submit_challenge_card(app, session)
    done = browser.post(response.headers["Location"], data={"outcome": "complete"})
    assert done.status_code == 303
    assert done.headers["Location"].startswith(f"{BASE}/checkout/success?session_id=")
    _, paid, _ = call(app, "GET", f"/v1/checkout/sessions/{session['id']}",
                      {"expand": ["payment_intent"]})
    assert (paid["status"], paid["payment_status"]) == ("complete", "paid")
    _, charge, _ = call(app, "GET", f"/v1/charges/{paid['payment_intent']['latest_charge']}")
    assert charge["payment_method_details"]["card"]["last4"] == "3155"
    assert paid["payment_intent"]["next_action"] is None
    schema.check(paid)
    sandbox.deliver_pending()
    assert receiver.types() == ["payment_intent.requires_action",
                                "checkout.session.completed", "payment_intent.succeeded"]
    for event in receiver.events:
        schema.check(to_dict(event))
    # The challenge is gone: its page now sends the shopper to the (complete) payment page.
    again = browser.get(response.headers["Location"])
    assert again.status_code == 303 and again.headers["Location"].endswith(session["id"])


def test_failing_the_challenge_leaves_the_session_open_and_says_so(
        app, sandbox: Sandbox, receiver, schema: StripeSchema) -> None:
    session = open_session(app)
    browser, response = submit_challenge_card(app, session)
    failed = browser.post(response.headers["Location"], data={"outcome": "fail"})
    html = failed.get_data(as_text=True)
    assert failed.status_code == 402
    assert "unable to authenticate your payment method" in html
    assert "Pay with card" in html
    assert sandbox.retrieve_session(session["id"])["status"] == "open"
    sandbox.deliver_pending()
    assert receiver.types() == ["payment_intent.requires_action",
                                "payment_intent.payment_failed"]
    pi = receiver.events[-1].data.object
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error.code == "payment_intent_authentication_failure"
    schema.check(to_dict(receiver.events[-1]))
    # Another card still pays the same session.
    paid = browser.post(page_path(session), data={**CARD_FORM, "number": "4242424242424242"})
    assert paid.status_code == 303
    assert sandbox.retrieve_session(session["id"])["payment_status"] == "paid"


def test_a_bad_challenge_answer_changes_nothing(app, sandbox: Sandbox) -> None:
    session = open_session(app)
    browser, response = submit_challenge_card(app, session)
    bad = browser.post(response.headers["Location"], data={"outcome": "maybe"})
    assert bad.status_code == 303
    assert sandbox.challenge_pending(session["id"]) is True
    assert browser.get("/pay/cs_test_nope/authenticate").status_code == 404
    assert browser.post("/pay/cs_test_nope/authenticate",
                        data={"outcome": "complete"}).status_code == 404


def test_python_http_and_cli_choose_the_challenge_outcome(
        app, client: stripe.StripeClient, sandbox: Sandbox) -> None:
    card = CHALLENGE_CARD.replace(" ", "")
    completed = open_session(app)
    assert sandbox.pay(completed["id"], card=card,
                       three_d_secure="complete").outcome == "succeeded"
    failed = open_session(app)
    result = sandbox.pay(failed["id"], card=card, three_d_secure="fail")
    assert (result.outcome, result.decline_code) == ("declined",
                                                     "payment_intent_authentication_failure")
    waiting = open_session(app)
    assert sandbox.pay(waiting["id"], card=card).outcome == "requires_action"
    assert sandbox.authenticate(waiting["id"], complete=True).outcome == "succeeded"

    over_http = open_session(app)
    status, body = control(app, "POST", f"/sessions/{over_http['id']}/pay", card=card,
                           three_d_secure="fail")
    assert (status, body["outcome"]) == (200, "declined")
    status, body = control(app, "POST", f"/sessions/{over_http['id']}/pay", card=card)
    assert body["outcome"] == "requires_action"
    assert control(app, "POST", f"/sessions/{over_http['id']}/authenticate",
                   outcome="sideways")[0] == 400
    status, body = control(app, "POST", f"/sessions/{over_http['id']}/authenticate",
                           outcome="complete")
    assert (status, body["outcome"]) == (200, "succeeded")
    assert control(app, "POST", f"/sessions/{over_http['id']}/pay", card=card,
                   three_d_secure="perhaps")[0] == 400

    on_cli = open_session(app)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["sandbox", "pay", on_cli["id"], "--card", card,
                              "--three-d-secure", "complete"])
    assert json.loads(out.output)["outcome"] == "succeeded"
    statuses = [client.v1.checkout.sessions.retrieve(s["id"]).payment_status
                for s in (completed, failed, waiting, over_http, on_cli)]
    assert statuses == ["paid", "unpaid", "paid", "paid", "paid"]
    session = client.v1.checkout.sessions.create(params=session_params())
    assert sandbox.challenge_pending(session.id) is False


def test_completing_the_challenge_twice_pays_once(app, sandbox: Sandbox) -> None:
    session = open_session(app)
    browser, response = submit_challenge_card(app, session)
    first = browser.post(response.headers["Location"], data={"outcome": "complete"})
    replay = browser.post(response.headers["Location"], data={"outcome": "complete"})
    assert first.status_code == 303
    # The replay finds no challenge waiting and is sent to the (complete) payment page.
    assert replay.status_code == 303, replay.get_data(as_text=True)[:500]
    assert len(sandbox.events("checkout.session.completed")) == 1
    assert len(sandbox.events("payment_intent.succeeded")) == 1
    _, listed, _ = call(app, "GET", "/v1/refunds", {"limit": 1})
    assert listed["data"] == []


def test_a_challenge_answered_after_its_session_expired_takes_no_money(
        app, sandbox: Sandbox) -> None:
    session = open_session(app)
    browser, response = submit_challenge_card(app, session)
    call(app, "POST", f"/v1/checkout/sessions/{session['id']}/expire")
    answered = browser.post(response.headers["Location"], data={"outcome": "complete"})
    assert answered.status_code < 500, answered.get_data(as_text=True)[:500]
    assert sandbox.retrieve_session(session["id"])["status"] == "expired"
    assert sandbox.events("checkout.session.completed") == []
    assert sandbox.events("payment_intent.succeeded") == []
