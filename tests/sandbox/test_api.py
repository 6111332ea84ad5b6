"""Stripe's wire behaviour: auth, errors, parameters, idempotency, lists, refunds."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
import stripe

from stripe_sandbox import InProcessHTTPClient, Sandbox
from stripe_sandbox.params import parse_form

from .conftest import API_KEY, SANDBOX, session_params
from .helpers import call, encode


def test_bracket_parameters_become_nested_dicts_and_lists() -> None:
    body = ("mode=payment&line_items[0][price_data][unit_amount]=1999"
            "&line_items[0][price_data][product_data][metadata][sku]=TS-1"
            "&line_items[1][quantity]=2&expand[0]=line_items&metadata[empty]="
            "&success_url=http%3A%2F%2Fx%2Fok%3Fid%3D%7BCHECKOUT_SESSION_ID%7D")
    assert parse_form(body) == {
        "mode": "payment",
        "line_items": [
            {"price_data": {"unit_amount": "1999",
                            "product_data": {"metadata": {"sku": "TS-1"}}}},
            {"quantity": "2"},
        ],
        "expand": ["line_items"],
        "metadata": {"empty": ""},
        "success_url": "http://x/ok?id={CHECKOUT_SESSION_ID}",
    }


def test_an_open_session_is_shaped_as_stripe_creates_it(app, sandbox: Sandbox) -> None:
    status, session, headers = call(app, "POST", "/v1/checkout/sessions", session_params(),
                                    idempotency_key="order-42")
    assert status == 200
    assert session["id"].startswith("cs_test_")
    assert session["object"] == "checkout.session"
    assert session["livemode"] is False
    assert (session["status"], session["payment_status"]) == ("open", "unpaid")
    assert session["payment_intent"] is None
    assert session["url"] == f"{SANDBOX}/pay/{session['id']}"
    assert session["amount_total"] == 2 * 1999 + 500
    assert session["currency"] == "usd"
    assert session["success_url"].endswith("session_id={CHECKOUT_SESSION_ID}")
    assert session["metadata"] == {"order_id": "42"}
    assert session["client_reference_id"] == "order_42"
    assert session["expires_at"] - session["created"] == 24 * 3600
    assert "line_items" not in session
    assert headers["Request-Id"].startswith("req_")
    assert headers["Stripe-Version"] == "2026-10-28.endive"
    assert headers["Idempotency-Key"] == "order-42"
    assert headers["Content-Type"] == "application/json"


def test_a_missing_or_wrong_key_is_401(app, client: stripe.StripeClient) -> None:
    status, body, _ = call(app, "GET", "/v1/events", key=None)
    assert status == 401 and "did not provide an API key" in body["error"]["message"]
    status, body, _ = call(app, "GET", "/v1/events", key="sk_test_not_the_key")
    assert status == 401 and body["error"]["type"] == "invalid_request_error"
    wrong = stripe.StripeClient("sk_test_other", base_addresses={"api": SANDBOX},
                                http_client=client._requestor._client)
    with pytest.raises(stripe.AuthenticationError):
        wrong.v1.events.list()


def test_a_missing_object_is_404_resource_missing(client: stripe.StripeClient) -> None:
    for fetch in (lambda: client.v1.checkout.sessions.retrieve("cs_test_nope"),
                  lambda: client.v1.payment_intents.retrieve("pi_nope"),
                  lambda: client.v1.refunds.retrieve("re_nope"),
                  lambda: client.v1.events.retrieve("evt_nope")):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            fetch()
        assert caught.value.http_status == 404
        assert caught.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert caught.value.user_message == "No such checkout.session: 'cs_test_nope'"


@pytest.mark.parametrize(("change", "code", "param"), [
    ({"line_items": None}, "parameter_missing", "line_items"),
    ({"mode": None}, "parameter_missing", "mode"),
    ({"payment_method_types": ["card"]}, "parameter_unknown", "payment_method_types"),
    ({"colour": "red"}, "parameter_unknown", "colour"),
    ({"expires_at": "soon"}, "parameter_invalid_integer", "expires_at"),
    ({"line_items": [{"price_data": {"currency": "usd", "unit_amount": "12.5",
                                     "product_data": {"name": "x"}}, "quantity": 1}]},
     "parameter_invalid_integer", "line_items[0][price_data][unit_amount]"),
    ({"line_items": [{"price_data": {"currency": "usd", "unit_amount": 100,
                                     "product_data": {"name": "x"}}}]},
     "parameter_missing", "line_items[0][quantity]"),
    ({"line_items": [{"price_data": {"currency": "usd", "unit_amount": 1,
                                     "product_data": {"name": "x"}}, "quantity": 1}] * 101},
     "parameter_invalid", "line_items"),
])
def test_bad_parameters_are_400_with_the_param(app, change, code, param) -> None:
    params = session_params()
    params.update(change)
    status, body, _ = call(app, "POST", "/v1/checkout/sessions", params)
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"
    assert (body["error"]["code"], body["error"]["param"]) == (code, param)


def test_expires_at_must_be_30_minutes_to_24_hours_ahead(app, sandbox: Sandbox) -> None:
    now = sandbox.now()
    for expires_at in (now + 29 * 60, now + 24 * 3600 + 60):
        status, body, _ = call(app, "POST", "/v1/checkout/sessions",
                               session_params(expires_at=expires_at))
        assert (status, body["error"]["param"]) == (400, "expires_at")
    for expires_at in (now + 30 * 60, now + 24 * 3600):
        status, body, _ = call(app, "POST", "/v1/checkout/sessions",
                               session_params(expires_at=expires_at))
        assert status == 200 and body["expires_at"] == expires_at


def test_expires_at_is_measured_on_the_sandbox_clock_only(app, sandbox: Sandbox) -> None:
    wall = int(time.time())
    now = sandbox.advance_clock(2 * 24 * 3600)
    # A wall-clock expires_at is already in the sandbox's past: Stripe would refuse it too.
    status, body, _ = call(app, "POST", "/v1/checkout/sessions",
                           session_params(expires_at=wall + 30 * 60))
    assert (status, body["error"]["param"]) == (400, "expires_at")
    for expires_at in (now + 29 * 60, now + 24 * 3600 + 60):
        status, body, _ = call(app, "POST", "/v1/checkout/sessions",
                               session_params(expires_at=expires_at))
        assert (status, body["error"]["param"]) == (400, "expires_at")
    for expires_at in (now + 30 * 60, now + 24 * 3600):
        status, body, _ = call(app, "POST", "/v1/checkout/sessions",
                               session_params(expires_at=expires_at))
        assert status == 200 and body["expires_at"] == expires_at


def test_zero_decimal_currency_amounts_stay_whole(app) -> None:
    items = [{"price_data": {"currency": "JPY", "unit_amount": 1500,
                             "product_data": {"name": "Tea"}}, "quantity": 1}]
    _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params(line_items=items))
    assert (session["currency"], session["amount_total"]) == ("jpy", 1500)


def test_the_same_idempotency_key_twice_makes_one_session(client: stripe.StripeClient,
                                                          sandbox: Sandbox) -> None:
    options = {"idempotency_key": "order-42-attempt-1"}
    first = client.v1.checkout.sessions.create(params=session_params(), options=options)
    second = client.v1.checkout.sessions.create(params=session_params(), options=options)
    assert first.id == second.id
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(client.v1.checkout.sessions.list().data) == 1


def test_the_same_key_with_other_parameters_is_an_idempotency_error(
        client: stripe.StripeClient) -> None:
    options = {"idempotency_key": "order-43"}
    client.v1.checkout.sessions.create(params=session_params(), options=options)
    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(params=session_params(client_reference_id="x"),
                                           options=options)
    with pytest.raises(stripe.IdempotencyError):
        client.v1.refunds.create(params={"payment_intent": "pi_x"}, options=options)


def test_a_failed_validation_does_not_burn_the_key(app) -> None:
    status, _, _ = call(app, "POST", "/v1/checkout/sessions", session_params(mode=None),
                        idempotency_key="k1")
    assert status == 400
    status, _, _ = call(app, "POST", "/v1/checkout/sessions", session_params(),
                        idempotency_key="k1")
    assert status == 200


def test_a_key_in_flight_answers_409(app, sandbox: Sandbox) -> None:
    assert sandbox.idempotency_begin("busy", "POST /v1/checkout/sessions",
                                     {"mode": "payment"}) is None
    status, body, headers = call(app, "POST", "/v1/checkout/sessions", {"mode": "payment"},
                                 idempotency_key="busy")
    assert status == 409 and body["error"]["code"] == "idempotency_key_in_use"
    assert headers["Stripe-Should-Retry"] == "true"


def test_idempotency_keys_are_forgotten_after_24_hours(app, sandbox: Sandbox) -> None:
    _, first, _ = call(app, "POST", "/v1/checkout/sessions", session_params(),
                       idempotency_key="old")
    sandbox.advance_clock(24 * 3600 + 1)
    _, again, _ = call(app, "POST", "/v1/checkout/sessions", session_params(),
                       idempotency_key="old")
    assert again["id"] != first["id"]


def test_lists_are_newest_first_and_paginate_both_ways(app,
                                                      client: stripe.StripeClient) -> None:
    ids = [client.v1.checkout.sessions.create(params=session_params()).id for _ in range(5)]
    page = client.v1.checkout.sessions.list(params={"limit": 2})
    assert [s.id for s in page.data] == ids[::-1][:2] and page.has_more
    assert page.url == "/v1/checkout/sessions"
    following = client.v1.checkout.sessions.list(
        params={"limit": 2, "starting_after": page.data[-1].id})
    assert [s.id for s in following.data] == ids[::-1][2:4]
    before = client.v1.checkout.sessions.list(
        params={"limit": 2, "ending_before": following.data[0].id})
    assert [s.id for s in before.data] == ids[::-1][:2]
    assert [s.id for s in page.auto_paging_iter()] == ids[::-1]
    for bad in (0, 101):
        status, body, _ = call(app, "GET", "/v1/checkout/sessions", {"limit": bad})
        assert (status, body["error"]["param"]) == (400, "limit")


def test_line_items_paginate(client: stripe.StripeClient) -> None:
    items = [{"price_data": {"currency": "usd", "unit_amount": 100 + i,
                             "product_data": {"name": f"Item {i}"}}, "quantity": 1}
             for i in range(12)]
    session = client.v1.checkout.sessions.create(params=session_params(line_items=items))
    page = client.v1.checkout.sessions.line_items.list(session.id)
    assert len(page.data) == 10 and page.has_more
    assert page.url == f"/v1/checkout/sessions/{session.id}/line_items"
    everything = list(page.auto_paging_iter())
    assert [item.description for item in everything] == [f"Item {i}" for i in range(12)]


def test_refunds_partial_then_full_never_exceed_the_capture(client: stripe.StripeClient,
                                                            sandbox: Sandbox) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    sandbox.pay(session.id)
    pi = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    partial = client.v1.refunds.create(params={"payment_intent": pi, "amount": 1000,
                                               "metadata": {"return": "1"}})
    assert (partial.amount, partial.status, partial.currency) == (1000, "succeeded", "usd")
    assert partial.payment_intent == pi and partial.charge.startswith("ch_")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": pi, "amount": 4000})
    assert (caught.value.code, caught.value.param) == ("amount_too_large", "amount")
    rest = client.v1.refunds.create(params={"payment_intent": pi})
    assert rest.amount == 4498 - 1000
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": pi, "amount": 1})
    assert caught.value.code == "charge_already_refunded"
    charges = [e["data"]["object"] for e in sandbox.events("charge.refunded")]
    assert [(c["amount_refunded"], c["refunded"]) for c in charges] == [(1000, False),
                                                                          (4498, True)]


def test_an_unpaid_payment_cannot_be_refunded(client: stripe.StripeClient,
                                              sandbox: Sandbox) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    sandbox.pay(session.id, method="bank_debit")
    pi = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": pi})


def test_events_filter_by_type_and_created_and_paginate(client: stripe.StripeClient,
                                                        sandbox: Sandbox) -> None:
    first = client.v1.checkout.sessions.create(params=session_params())
    sandbox.pay(first.id)
    start = sandbox.advance_clock(100)
    second = client.v1.checkout.sessions.create(params=session_params())
    client.v1.checkout.sessions.expire(second.id)
    completed = client.v1.events.list(params={"type": "checkout.session.completed"})
    assert [e.data.object.id for e in completed.data] == [first.id]
    sessions = client.v1.events.list(params={"type": "checkout.session.*"})
    assert [e.type for e in sessions.data] == ["checkout.session.expired",
                                               "checkout.session.completed"]
    recent = client.v1.events.list(params={"created": {"gte": start}})
    assert [e.type for e in recent.data] == ["checkout.session.expired"]
    assert recent.data[0].request.idempotency_key
    old = client.v1.events.list(params={"created": {"lt": start}})
    assert {e.type for e in old.data} == {"checkout.session.completed",
                                          "payment_intent.succeeded"}
    page = client.v1.events.list(params={"limit": 1})
    after = client.v1.events.list(params={"limit": 1, "starting_after": page.data[0].id})
    assert page.has_more and after.data[0].id != page.data[0].id
    assert [e.id for e in page.auto_paging_iter()] == [e["id"] for e in sandbox.events()[::-1]]


def test_unknown_urls_are_stripe_404s(app) -> None:
    status, body, _ = call(app, "GET", "/v1/customers")
    assert status == 404 and "Unrecognized request URL" in body["error"]["message"]


def test_events_caused_by_the_api_record_the_request(client: stripe.StripeClient,
                                                     sandbox: Sandbox) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    expired = client.v1.checkout.sessions.expire(session.id, options={"idempotency_key": "x1"})
    event = sandbox.events("checkout.session.expired")[0]
    assert event["request"] == {"id": expired.last_response.request_id, "idempotency_key": "x1"}
    assert event["api_version"] == "2026-10-28.endive"
    assert event["id"].startswith("evt_")


def test_the_sdk_retries_a_409_with_the_same_key(app, sandbox: Sandbox, monkeypatch) -> None:
    params = parse_form(urlencode(encode(session_params()), safe="[]"))
    sandbox.idempotency_begin("retry-me", "POST /v1/checkout/sessions", params)
    calls = []
    real = sandbox.idempotency_begin

    def release_after_first(key, endpoint, params):
        calls.append(key)
        if len(calls) == 2:
            sandbox.idempotency_finish(key, None, None, "req_x")
        return real(key, endpoint, params)

    monkeypatch.setattr(sandbox, "idempotency_begin", release_after_first)
    monkeypatch.setattr(stripe.HTTPClient, "_sleep_time_seconds", lambda self, n, r=None: 0)
    http = InProcessHTTPClient(app, SANDBOX)
    client = stripe.StripeClient(API_KEY, base_addresses={"api": SANDBOX},
                                 http_client=http, max_network_retries=2)
    try:
        session = client.v1.checkout.sessions.create(
            params=session_params(), options={"idempotency_key": "retry-me"})
    finally:
        http.close()
    assert session.id.startswith("cs_test_") and calls == ["retry-me", "retry-me"]
