"""Malformed, mistyped and out-of-range input gets Stripe's 400 JSON error, never a 500."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask

from stripe_sandbox import Sandbox

from .conftest import API_KEY, SANDBOX, session_params
from .helpers import call, encode
from .test_http import control

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def raw(app: Flask, monkeypatch):
    """Send raw bytes to the API as production would answer them (no exception propagation)."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    client = app.test_client()

    def send(method: str, path: str, body: bytes | None = None) -> tuple[int, Any, Any]:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        if method == "GET":
            response = client.get(path, headers=headers)
        else:
            response = client.post(path, data=body, headers=headers,
                                   content_type=FORM)
        assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
        return response.status_code, response.get_json(), response.headers

    return send


def good_body(**overrides: Any) -> str:
    return urlencode(encode(session_params(**overrides)), safe="[]")


def test_a_body_that_is_not_utf8_is_a_400(raw) -> None:
    status, body, _ = raw("POST", "/v1/checkout/sessions", b"mode=payment&\xff\xfe=1")
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"


def test_a_key_of_non_ascii_digits_is_a_plain_key(raw) -> None:
    text = good_body().replace("metadata[order_id]=42", "metadata[%C2%B2]=x")
    status, body, _ = raw("POST", "/v1/checkout/sessions", text.encode())
    assert status == 200
    assert body["metadata"] == {"\u00b2": "x"}


def test_only_ascii_digits_make_an_integer(raw) -> None:
    text = good_body().replace("[quantity]=2", "[quantity]=%D9%A2")
    status, body, _ = raw("POST", "/v1/checkout/sessions", text.encode())
    assert status == 400
    assert body["error"]["code"] == "parameter_invalid_integer"
    assert body["error"]["param"] == "line_items[0][quantity]"


def test_the_page_takes_only_ascii_digits_in_a_card(app: Flask, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
    path = session["url"].removeprefix(SANDBOX)
    form = {"email": "a@b.c", "name": "A B", "cvc": "123", "method": "card"}
    client = app.test_client()
    response = client.post(path, data={
        **form, "number": "4242 4242 4242 424\u00b2", "exp": "12 / 40"})
    assert response.status_code == 422
    assert "Your card number is invalid." in response.get_data(as_text=True)
    response = client.post(path, data={
        **form, "number": "4242 4242 4242 4242", "exp": "\u0661\u0662 / \u0664\u0660"})
    assert response.status_code == 422
    assert "expiration date is incomplete" in response.get_data(as_text=True)



@pytest.mark.parametrize(("query", "param"), [
    ("/v1/checkout/sessions?payment_intent[x]=1", "payment_intent"),
    ("/v1/checkout/sessions?status[x]=1", "status"),
    ("/v1/checkout/sessions?starting_after[x]=1", "starting_after"),
    ("/v1/checkout/sessions?ending_before[0]=1", "ending_before"),
    ("/v1/events?starting_after[x]=1", "starting_after"),
    ("/v1/events?ending_before[0]=1", "ending_before"),
    ("/v1/events?types[0][a]=b", "types"),
    ("/v1/checkout/sessions?created=" + "9" * 40, "created"),
    ("/v1/checkout/sessions?created[gte]=" + "9" * 25, "created[gte]"),
    ("/v1/events?created[lt]=" + "9" * 25, "created[lt]"),
    ("/v1/events?created[gt]=-" + "9" * 25, "created[gt]"),
    ("/v1/events?limit=" + "9" * 5000, "limit"),
])
def test_mistyped_or_huge_list_filters_are_a_400(raw, query: str, param: str) -> None:
    status, body, headers = raw("GET", query)
    assert status == 400, body
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["param"] == param
    assert "Stripe-Should-Retry" not in headers


def test_a_mistyped_line_item_cursor_is_a_400(app: Flask, raw) -> None:
    _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params())
    status, body, _ = raw("GET", f"/v1/checkout/sessions/{session['id']}/line_items"
                                 "?starting_after[x]=1")
    assert (status, body["error"]["param"]) == (400, "starting_after")


TEN_YEARS = 10 * 365 * 24 * 3600


@pytest.mark.parametrize("seconds", [-1, TEN_YEARS + 1, 10**30, 1e30, 1.5, True, "60"])
def test_the_clock_and_outages_take_only_a_sane_number_of_seconds(sandbox: Sandbox,
                                                                  seconds: Any) -> None:
    before = sandbox.now()
    with pytest.raises(ValueError):
        sandbox.advance_clock(seconds)
    with pytest.raises(ValueError):
        sandbox.set_endpoint_down(seconds)
    assert sandbox.now() - before < 60
    assert sandbox.advance_clock(TEN_YEARS) >= before + TEN_YEARS


@pytest.mark.parametrize("seconds", [1e30, 10**30, -5, "\u0662", "x", [1]])
def test_the_http_controls_reject_bad_seconds_and_keep_working(app: Flask, sandbox: Sandbox,
                                                               monkeypatch,
                                                               seconds: Any) -> None:
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    before = sandbox.now()
    for path in ("/clock/advance", "/endpoint_down"):
        status, body = control(app, "POST", path, seconds=seconds)
        assert status == 400 and body["error"]["type"] == "invalid_request_error"
    assert sandbox.now() - before < 60
    assert control(app, "GET", "/clock")[0] == 200
    assert call(app, "POST", "/v1/checkout/sessions", session_params())[0] == 200
    assert control(app, "POST", "/clock/advance", seconds="60")[0] == 200


def test_the_cli_rejects_bad_seconds(app: Flask, sandbox: Sandbox) -> None:
    runner = app.test_cli_runner()
    before = sandbox.now()
    for command in ("advance-clock", "endpoint-down"):
        result = runner.invoke(args=["sandbox", command, str(10**30)])
        assert result.exit_code != 0 and "Traceback" not in result.output
    assert sandbox.now() - before < 60


@pytest.mark.parametrize("param", ["success_url", "cancel_url"])
@pytest.mark.parametrize("url", ["javascript:alert(1)", "not a url", "//evil.test/x",
                                 "ftp://shop.test/x", "http://", "data:text/html,hi",
                                 " javascript:alert(1)"])
def test_redirect_urls_must_be_absolute_http_urls(app: Flask, param: str, url: str) -> None:
    status, body, _ = call(app, "POST", "/v1/checkout/sessions", session_params(**{param: url}))
    assert status == 400
    assert (body["error"]["code"], body["error"]["param"]) == ("url_invalid", param)


def test_http_and_https_redirect_urls_are_accepted(app: Flask) -> None:
    status, body, _ = call(app, "POST", "/v1/checkout/sessions", session_params(
        success_url="https://shop.test/ok?id={CHECKOUT_SESSION_ID}",
        cancel_url="HTTP://127.0.0.1:5000/cart"))
    assert status == 200
    assert body["success_url"] == "https://shop.test/ok?id={CHECKOUT_SESSION_ID}"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/checkout/sessions", "mode=payment&metadata[a]=ok&metadata[a]=x%00y"),
        ("POST", "/v1/checkout/sessions", "mode=pay%00ment"),
        ("GET", "/v1/checkout/sessions?limit=3&limit=%00", None),
        ("GET", "/v1/checkout/sessions/cs_test_%00", None),
    ],
)
def test_a_nul_byte_anywhere_is_refused_before_the_store(raw, method, path, body):
    # PostgreSQL cannot store or compare text holding NUL: each of these was a 500 there.
    status, error, _ = raw(method, path, body.encode() if body is not None else None)
    assert status == 400
    assert error["error"]["type"] == "invalid_request_error"
    assert "NUL" in error["error"]["message"]


def test_a_nul_byte_in_a_control_body_is_refused(app: Flask, monkeypatch):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = app.test_client().post(
        "/_controls/clock/advance", data=b"seconds=1&seconds=%00", content_type=FORM)
    assert response.status_code == 400
    assert "NUL" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/_controls/settle", {"target": "pi_\u0000"}),
        ("POST", "/_controls/refunds", {"target": "pi_\u0000x", "amount": 100}),
        ("POST", "/_controls/disputes", {"target": "pi_\u0000"}),
        ("GET", "/_controls/events", {"type": "a\u0000"}),
        ("POST", "/_controls/settle", {"target": ["ok", {"deep": "x\u0000"}]}),
        ("POST", "/_controls/settle", {"tar\u0000get": "pi_1"}),
    ],
)
def test_a_nul_in_a_json_control_body_is_refused(app: Flask, monkeypatch, method, path, body):
    """A JSON body escapes NUL as \\u0000, which no byte search for NUL or %00 sees."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = app.test_client().open(
        path, method=method, json=body, headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert "NUL" in response.get_json()["error"]["message"]
