"""Structured logs: a request id per request, carried into Stripe and back through the
webhook handling; LOG_FORMAT; and no secret, token or card number in any record."""

import json
import logging
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from checkout.config import (
    SANDBOX_SECRET_KEY,
    SANDBOX_WEBHOOK_SECRET,
    ConfigError,
    from_environment,
)
from checkout.logs import JsonFormatter, TextFormatter
from tests.accounts_support import PASSWORD, make_shopper
from tests.conftest import csrf_token
from tests.shop import (
    ADDRESS,
    add_to_cart,
    checkout_form,
    follow_success,
    session_id_of,
    submit_checkout,
)

CARD = "4242 4242 4242 4242"


def test_a_sane_request_id_is_kept_and_echoed(client):
    answer = client.get("/", headers={"X-Request-ID": "lb-7f3a.91:22"})
    assert answer.headers["X-Request-ID"] == "lb-7f3a.91:22"


@pytest.mark.parametrize("offered", ["", "x" * 129, "two words", "<script>", "id;rm"])
def test_an_absent_or_odd_request_id_is_replaced_by_a_fresh_one(client, offered):
    first = client.get("/", headers={"X-Request-ID": offered}).headers["X-Request-ID"]
    second = client.get("/", headers={"X-Request-ID": offered}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_the_checkout_request_id_follows_the_payment_into_the_webhook_logs(
        app, client, sandbox, products, caplog):
    caplog.set_level(logging.INFO)
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    placed = client.post("/checkout/", data={**checkout_form(client), **ADDRESS},
                         headers={"X-Request-ID": "checkout-req-0001"})
    session_id = session_id_of(placed)
    assert placed.headers["X-Request-ID"] == "checkout-req-0001"
    session = sandbox.retrieve_session(session_id)
    assert session["metadata"]["request_id"] == "checkout-req-0001"
    assert sandbox.pay(session_id).ok
    caplog.clear()
    assert all(d.ok for d in sandbox.deliver_pending())
    handled = [r for r in caplog.records if r.name == "checkout.services.webhooks"
               and "checkout.session.completed" in r.getMessage()]
    assert handled, caplog.text
    assert {r.payment_request_id for r in handled} == {"checkout-req-0001"}
    # The delivery is a request of its own, with its own id.
    assert all(r.request_id and r.request_id != "checkout-req-0001" for r in handled)


def test_the_checkout_request_id_follows_the_payment_to_the_success_page_and_reconciliation(
        app, client, sandbox, products, caplog):
    """Payments confirmed without a webhook are followed by the same id."""
    caplog.set_level(logging.INFO)
    for n, path in enumerate(("reconciliation", "success page")):
        assert add_to_cart(client, products["MUG"], 1).status_code == 303
        request_id = f"checkout-req-100{n}"
        placed = client.post("/checkout/", data={**checkout_form(client), **ADDRESS},
                             headers={"X-Request-ID": request_id})
        session_id = session_id_of(placed)
        paid = sandbox.pay(session_id)
        assert paid.ok
        caplog.clear()
        if path == "success page":
            assert follow_success(client, paid.redirect_url).status_code == 200
        else:
            result = app.test_cli_runner().invoke(args=["reconcile", "--since", "1h"])
            assert result.exit_code == 0, result.output
        # The success page applies the session; reconciliation the event Stripe lists.
        applied = [r for r in caplog.records if (
            r.name == "checkout.services.fulfilment" and "applied" in r.getMessage()
            or r.name == "checkout.services.webhooks"
            and "checkout.session.completed" in r.getMessage())]
        assert applied, (path, caplog.text)
        assert {r.payment_request_id for r in applied} == {request_id}, path


def record(message: str, *args, **extra) -> logging.LogRecord:
    made = logging.getLogger("checkout.test").makeRecord(
        "checkout.test", logging.WARNING, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_the_json_format_is_one_object_a_line_with_the_ids():
    line = JsonFormatter().format(record("paid %s", "order AB12", request_id="r-1",
                                         payment_request_id="r-0"))
    entry = json.loads(line)
    assert entry["message"] == "paid order AB12" and entry["level"] == "WARNING"
    assert (entry["request_id"], entry["payment_request_id"]) == ("r-1", "r-0")
    assert entry["logger"] == "checkout.test" and entry["time"].endswith("+00:00")
    assert "\n" not in line


def test_formatters_redact_what_reaches_them_directly():
    raw = logging.LogRecord("x", logging.INFO, __file__, 1, "open /orders/A?t=tok.en", None, None)
    assert "tok.en" not in JsonFormatter().format(raw)
    assert "tok.en" not in TextFormatter().format(raw)


@pytest.mark.parametrize(("env", "expected"), [
    ({"CHECKOUT_ENV": "development"}, "text"),
    ({"CHECKOUT_ENV": "production", "SECRET_KEY": "k" * 40, "PAYMENTS": "stripe",
      "STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"}, "json"),
    ({"CHECKOUT_ENV": "development", "LOG_FORMAT": "json"}, "json"),
])
def test_log_format_is_json_in_production_and_text_in_development(monkeypatch, tmp_path,
                                                                   env, expected):
    for name in ("CHECKOUT_ENV", "LOG_FORMAT", "SECRET_KEY", "PAYMENTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert from_environment(tmp_path)["LOG_FORMAT"] == expected


def test_an_unknown_log_format_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        from_environment(tmp_path)


def test_a_whole_purchase_logged_at_debug_holds_no_secret(app, client, sandbox, products,
                                                          caplog):
    """Guest order link, success page, webhook, sign-in, a card typed on the payment page."""
    caplog.set_level(logging.DEBUG)
    # The SDK's lines carry every request and response body: the likeliest leak, so on too.
    caplog.set_level(logging.DEBUG, logger="stripe")
    make_shopper(app, "bob@example.com")
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    session_id = session_id_of(submit_checkout(client))
    paid = client.post(f"/sandbox/stripe/pay/{session_id}", data={
        "email": "ada@example.com", "name": "Ada Lovelace", "number": CARD, "exp": "12 / 40",
        "cvc": "123", "method": "card"})
    assert paid.status_code == 303
    success = urlsplit(paid.headers["Location"])
    thanks = client.get(success.path, query_string=parse_qs(success.query))
    assert thanks.status_code == 200
    assert all(d.ok for d in sandbox.deliver_pending())
    link = re.search(r'href="(/orders/[^"?]+)\?t=([^"]+)"', thanks.get_data(as_text=True))
    order_path, token = link.group(1), link.group(2).replace("&amp;", "&")
    assert client.get(order_path, query_string={"t": token}).status_code == 200
    browser = app.test_client()
    signed_in = browser.post("/account/login", data={
        "csrf_token": csrf_token(browser), "email": "bob@example.com", "password": PASSWORD})
    assert signed_in.status_code == 303
    assert any(r.levelno == logging.DEBUG and r.name == "stripe" for r in caplog.records)
    logged = caplog.text + "\n".join(
        JsonFormatter().format(r) + TextFormatter().format(r) for r in caplog.records)
    for what, secret in {"order token": token, "session id": session_id, "password": PASSWORD,
                         "webhook secret": SANDBOX_WEBHOOK_SECRET,
                         "stripe key": SANDBOX_SECRET_KEY, "card": CARD.replace(" ", ""),
                         "card as typed": CARD}.items():
        assert secret not in logged, f"the {what} is in the logs"


def test_a_json_line_stays_json_when_a_secret_sits_inside_quotes():
    raw = logging.LogRecord("stripe", logging.DEBUG, __file__, 1, "body=%s", (
        '{"cancel_url": "http://shop/pay?t=tok.en", "next": "/welcome/inv.ite"}',), None)
    line = JsonFormatter().format(raw)
    entry = json.loads(line)
    assert "tok.en" not in line and "inv.ite" not in line
    assert json.loads(entry["message"].removeprefix("body="))["cancel_url"].endswith(
        "?t=[redacted]")
