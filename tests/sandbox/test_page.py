"""The hosted payment page, driven through the Flask test client without JavaScript."""

from __future__ import annotations

import json
import re

import pytest

from stripe_sandbox import Sandbox
from stripe_sandbox.money import format_amount
from stripe_sandbox.store import metadata

from .conftest import BASE, SANDBOX, session_params
from .helpers import call

CARD_FORM = {"email": "buyer@example.com", "name": "Jenny Rosen", "exp": "12 / 40",
             "cvc": "123", "method": "card"}


def open_session(app, **overrides) -> dict:
    _, session, _ = call(app, "POST", "/v1/checkout/sessions", session_params(**overrides))
    return session


def page_path(session: dict) -> str:
    return session["url"].removeprefix(SANDBOX)


@pytest.mark.parametrize(("amount", "currency", "text"), [
    (1999, "usd", "$19.99"), (1500, "jpy", "¥1,500"), (123456, "eur", "€1,234.56"),
    (5, "gbp", "£0.05"), (1000, "kwd", "KWD 1.000"), (0, "usd", "$0.00"),
    (250000, "krw", "₩250,000"),
    # A discount: the minus sign, as the shop writes it, not a hyphen.
    (-450, "usd", "−$4.50"),
])
def test_amounts_are_formatted_for_their_currency(amount, currency, text) -> None:
    assert format_amount(amount, currency) == text


def test_the_page_shows_the_store_lines_total_and_a_proper_card_form(app) -> None:
    session = open_session(app)
    response = app.test_client().get(page_path(session))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Fernhill Supply" in html
    assert "T-shirt" in html and "Qty 2" in html and "$39.98" in html and "Socks" in html
    assert "Pay $44.98" in html
    for token in ("cc-number", "cc-exp", "cc-csc", "cc-name"):
        assert f'autocomplete="{token}"' in html
    for field in ("number", "exp", "cvc", "name", "email"):
        assert f'<label for="{field}">' in html and f'id="{field}"' in html
    assert f'href="{BASE}/cart">← Back to Fernhill Supply' in html
    assert "Pay by bank debit (settles later)" in html
    assert "4242 4242 4242 4242" in html and "TEST MODE" in html
    assert "<script" not in html
    assert 'value="buyer@example.com"' in html


def test_a_yen_session_shows_whole_yen(app) -> None:
    items = [{"price_data": {"currency": "jpy", "unit_amount": 1500,
                             "product_data": {"name": "Tea"}}, "quantity": 1}]
    html = app.test_client().get(page_path(open_session(app, line_items=items))).get_data(
        as_text=True)
    assert "Pay ¥1,500" in html


def test_paying_with_the_success_card_redirects_to_success_url(app, sandbox: Sandbox) -> None:
    session = open_session(app)
    response = app.test_client().post(page_path(session),
                                      data={**CARD_FORM, "number": "4242 4242 4242 4242"})
    assert response.status_code == 303
    assert response.headers["Location"] == (
        f"{BASE}/checkout/success?session_id={session['id']}")
    _, fetched, _ = call(app, "GET", f"/v1/checkout/sessions/{session['id']}",
                         {"expand": ["payment_intent"]})
    assert (fetched["status"], fetched["payment_status"], fetched["url"]) == (
        "complete", "paid", None)
    assert fetched["customer_details"]["name"] == "Jenny Rosen"
    charge_id = fetched["payment_intent"]["latest_charge"]
    assert charge_id.startswith("ch_")
    _, pi, _ = call(app, "GET", f"/v1/payment_intents/{fetched['payment_intent']['id']}",
                    {"expand": ["latest_charge"]})
    card = pi["latest_charge"]["payment_method_details"]["card"]
    assert (card["brand"], card["last4"]) == ("visa", "4242")
    assert pi["metadata"] == {"order_id": "42"}


@pytest.mark.parametrize(("number", "message"), [
    ("4000 0000 0000 0002", "Your card was declined."),
    ("4000 0000 0000 9995", "Your card has insufficient funds."),
])
def test_a_declined_card_says_so_and_the_session_stays_open(app, sandbox: Sandbox, number,
                                                            message) -> None:
    session = open_session(app)
    client = app.test_client()
    response = client.post(page_path(session), data={**CARD_FORM, "number": number})
    html = response.get_data(as_text=True)
    assert response.status_code == 402
    assert message in html
    assert re.search(r'name="number"[^>]*value=""', html)  # the number is not echoed back
    _, fetched, _ = call(app, "GET", f"/v1/checkout/sessions/{session['id']}")
    assert (fetched["status"], fetched["payment_intent"]) == ("open", None)
    assert [e["type"] for e in sandbox.events()] == ["payment_intent.payment_failed"]
    retry = client.post(page_path(session), data={**CARD_FORM, "number": "4242424242424242"})
    assert retry.status_code == 303
    failed_pi = sandbox.events()[0]["data"]["object"]["id"]
    _, fetched, _ = call(app, "GET", f"/v1/checkout/sessions/{session['id']}")
    assert fetched["payment_intent"] == failed_pi  # the retry confirmed the same intent


@pytest.mark.parametrize(("field", "value", "message"), [
    ("number", "4242 4242 4242 4241", "Your card number is invalid."),
    ("number", "4242", "Your card number is incomplete."),
    ("number", "", "Your card number is incomplete."),
    ("exp", "01 / 20", "Your card&#39;s expiration date is in the past."),
    ("exp", "13 / 40", "Your card&#39;s expiration month is invalid."),
    ("exp", "soon", "Your card&#39;s expiration date is incomplete."),
    ("cvc", "12", "Your card&#39;s security code is invalid."),
    ("name", "", "Enter the name on your card."),
])
def test_bad_input_is_explained_next_to_its_field(app, sandbox: Sandbox, field, value,
                                                  message) -> None:
    session = open_session(app)
    data = {**CARD_FORM, "number": "4242424242424242", field: value}
    response = app.test_client().post(page_path(session), data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error">{re.escape(message)}<', html)
    assert sandbox.events() == []


def test_bank_debit_completes_unpaid_and_settles_later(app, sandbox: Sandbox,
                                                       receiver) -> None:
    session = open_session(app)
    response = app.test_client().post(page_path(session), data={
        "email": "buyer@example.com", "name": "Jenny Rosen", "method": "bank_debit"})
    assert response.status_code == 303
    _, fetched, _ = call(app, "GET", f"/v1/checkout/sessions/{session['id']}")
    assert (fetched["status"], fetched["payment_status"]) == ("complete", "unpaid")
    html = app.test_client().get(page_path(session)).get_data(as_text=True)
    assert "Payment processing" in html
    sandbox.settle_async(fetched["payment_intent"], succeeded=True)
    sandbox.deliver_pending()
    assert receiver.types() == ["checkout.session.completed",
                                "checkout.session.async_payment_succeeded",
                                "payment_intent.succeeded"]
    assert receiver.events[0].data.object.payment_status == "unpaid"
    assert receiver.events[1].data.object.payment_status == "paid"


def test_a_failed_bank_debit_emits_the_failure_events(app, sandbox: Sandbox) -> None:
    session = open_session(app)
    assert sandbox.pay(session["id"], method="bank_debit").outcome == "processing"
    sandbox.settle_async(session["id"], succeeded=False)
    assert [e["type"] for e in sandbox.events()] == [
        "checkout.session.completed", "checkout.session.async_payment_failed",
        "payment_intent.payment_failed"]
    with pytest.raises(Exception, match="not processing"):
        sandbox.settle_async(session["id"], succeeded=True)


def test_an_expired_session_page_says_so(app, sandbox: Sandbox) -> None:
    session = open_session(app, expires_at=sandbox.now() + 1800)
    sandbox.advance_clock(1800)
    client = app.test_client()
    response = client.get(page_path(session))
    html = response.get_data(as_text=True)
    assert "This checkout session has expired" in html and 'name="number"' not in html
    posted = client.post(page_path(session), data={**CARD_FORM, "number": "4242424242424242"})
    assert "has expired" in posted.get_data(as_text=True)


def test_a_page_left_open_past_expiry_expires_the_session_when_viewed(app,
                                                                      sandbox: Sandbox
                                                                      ) -> None:
    session = open_session(app, expires_at=sandbox.now() + 1800)
    with sandbox.store.write() as conn:  # move time without the sweep advance_clock runs
        sandbox.store.set_state(conn, "clock_offset", "1801")
    html = app.test_client().get(page_path(session)).get_data(as_text=True)
    assert "has expired" in html
    assert [e["type"] for e in sandbox.events()] == ["checkout.session.expired"]


def test_a_completed_session_page_links_to_the_success_url(app, sandbox: Sandbox) -> None:
    session = open_session(app)
    sandbox.pay(session["id"])
    html = app.test_client().get(page_path(session)).get_data(as_text=True)
    assert "Payment complete" in html and 'name="number"' not in html
    assert f"session_id={session['id']}" in html
    again = sandbox.pay(session["id"])
    assert again.outcome == "closed" and len(sandbox.events()) == 2


def test_an_unknown_session_page_is_404(app) -> None:
    response = app.test_client().get("/pay/cs_test_nope")
    assert response.status_code == 404
    assert "not valid" in response.get_data(as_text=True)


def _scalars(node: object) -> list[str]:
    if isinstance(node, dict):
        return [item for value in node.values() for item in _scalars(value)]
    if isinstance(node, list):
        return [item for value in node for item in _scalars(value)]
    return [str(node)]


def test_only_brand_and_last_four_are_stored(app, sandbox: Sandbox) -> None:
    session = open_session(app)
    response = app.test_client().post(page_path(session), data={
        **CARD_FORM, "cvc": "9876", "number": "5555 5555 5555 4444", "exp": "07 / 39"})
    assert response.status_code == 303
    with sandbox.store.read() as conn:
        cells = [cell for table in metadata.sorted_tables
                 for row in conn.execute(table.select()) for cell in row]
    documents = [json.loads(cell) for cell in cells
                 if isinstance(cell, str) and cell.startswith("{")]
    values = [value for document in documents for value in _scalars(document)]
    values += [str(cell) for cell in cells if not (isinstance(cell, str) and cell.startswith("{"))]
    assert not any("55555555" in value or value == "9876" for value in values)
    # The expiry typed is checked, then dropped: not the month, not the year, in no form.
    assert not any(value in ("2039", "39", "07 / 39", "07/39") or "07 / 39" in value
                   for value in values)
    cards = [d["payment_method_details"]["card"] for d in documents
             if d.get("object") == "charge"]
    assert [(c["brand"], c["last4"]) for c in cards] == [("mastercard", "4444")]
    assert [(c["exp_month"], c["exp_year"]) for c in cards] == [(12, 2034)]


def test_a_zero_amount_session_completes_with_no_payment_required(app, sandbox: Sandbox,
                                                                  schema) -> None:
    free = [{"price_data": {"currency": "usd", "unit_amount": 0,
                            "product_data": {"name": "Sample"}}, "quantity": 1}]
    session = open_session(app, line_items=free)
    assert (session["amount_total"], session["payment_status"]) == (0, "unpaid")
    client = app.test_client()
    response = client.post(page_path(session), data={**CARD_FORM,
                                                     "number": "4242424242424242"})
    assert response.status_code == 303
    _, done, _ = call(app, "GET", f"/v1/checkout/sessions/{session['id']}")
    assert (done["status"], done["payment_status"]) == ("complete", "no_payment_required")
    assert done["payment_intent"] is None
    assert schema.errors(done) == []
    events = sandbox.events()
    assert [e["type"] for e in events] == ["checkout.session.completed"]
    assert schema.errors(events[0]) == []
    html = client.get(page_path(session)).get_data(as_text=True)
    assert "Payment complete" not in html and "Payment processing" not in html
    assert "Nothing to pay" in html


def test_the_page_carries_security_headers_and_styles_itself_by_nonce(app) -> None:
    """Issue 9, defect 6: the hosted page (card numbers are typed there) is framed by nobody,
    never stored, and runs no script; its own <style> applies through the response's nonce."""
    session = open_session(app)
    response = app.test_client().get(page_path(session))
    policy = dict(
        (part.split()[0], part.split()[1:])
        for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["style-src"]
    [nonce] = re.findall(r'<style nonce="([^"]+)">', response.get_data(as_text=True))
    assert f"'nonce-{nonce}'" in policy["style-src"]
    assert " style=" not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    # The API speaks JSON to programs: no page policy there.
    api = app.test_client().get("/v1/checkout/sessions/" + session["id"],
                                headers={"Authorization": "Bearer sk_test_sandbox"})
    assert "Content-Security-Policy" not in api.headers


def test_the_missing_page_carries_them_too(app) -> None:
    response = app.test_client().get("/pay/cs_test_nothing_here")
    assert response.status_code == 404
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert " style=" not in response.get_data(as_text=True)
