"""Payment failed, refund made and staff alerts, as they arrive through a real SMTP server."""

import logging
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import delete, func, select

from checkout import mail
from checkout.domain.outcomes import Outcome
from checkout.extensions import db
from checkout.models import Order, OrderFlag, OutboxMessage, Payment, WebhookEvent
from checkout.models.order import FlagCode
from checkout.models.payment import RefundReason
from checkout.services import fulfilment, notifications, refunds
from checkout.services.accounts import create_staff
from tests.conftest import BASE_URL, csrf_token
from tests.factories import OrderFactory
from tests.mail_support import parts, smtp_server
from tests.shop import ADDRESS, add_to_cart, session_id_of, submit_checkout
from tests.state import only_order, text_of
from tests.test_discounts import apply_code, make_code
from tests.test_webhooks import post_event

HOSTILE = "<script>alert(1)</script> Eve"
STAFF_PASSWORD = "correct horse battery"


@pytest.fixture
def smtp(app):
    with smtp_server(app) as sink:
        yield sink


def of_subject(smtp, fragment: str) -> list:
    return [m for m in smtp.messages if fragment in m["Subject"]]


def keys(app) -> list[str]:
    with app.app_context():
        found = list(db.session.scalars(select(OutboxMessage.key).order_by(OutboxMessage.id)))
        db.session.remove()
    return found


def link(text: str, path_pattern: str) -> str:
    found = re.findall(rf"{re.escape(BASE_URL)}{path_pattern}\S*", text)
    assert len(found) == 1, text
    return found[0]


def get(client, url: str):
    parsed = urlsplit(url)
    return client.get(f"{parsed.path}?{parsed.query}" if parsed.query else parsed.path)


def in_html(url: str, html: str) -> bool:
    return f'href="{url.replace("&", "&amp;")}"' in html or f'href="{url}"' in html


def place(client, products, **address) -> str:
    assert add_to_cart(client, products["PEN"], 1).status_code == 303
    return session_id_of(submit_checkout(client, **address))


def redeliver(sandbox, *types: str) -> None:
    for type_ in types:
        for event in sandbox.events(type_):
            sandbox.resend(event["id"])
    assert all(d.ok for d in sandbox.deliver_pending())


def test_a_failed_bank_debit_mails_the_shopper_once_with_a_link_to_pay_again(
    app, client, sandbox, products, smtp
):
    session_id = place(client, products, name=HOSTILE)
    sandbox.pay(session_id, method="bank_debit")
    sandbox.deliver_pending()
    sandbox.settle_async(session_id, succeeded=False)
    assert all(d.ok for d in sandbox.deliver_pending())
    redeliver(sandbox, "checkout.session.async_payment_failed")

    order = only_order(app)
    [message] = smtp.messages
    assert keys(app) == [f"payment-failed:{session_id}"]
    assert smtp.recipients == [[ADDRESS["email"]]]
    assert message["From"] == app.config["MAIL_FROM"]
    assert message["Subject"] == f"Fernhill Supply: the payment for order {order.number} failed"
    text, html = parts(message)
    for body in (text, html):
        assert "Fernhill Supply" in body and order.number in body and "$12.50" in body
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; Eve" in html
    assert f"Hello {HOSTILE}," in text

    pay_url = link(text, f"/checkout/orders/{order.number}/pay")
    assert in_html(pay_url, html)
    stranger = app.test_client()
    page = get(stranger, pay_url)
    assert page.status_code == 200 and order.number in text_of(page)
    assert stranger.get(urlsplit(pay_url).path).status_code == 404
    assert get(stranger, link(text, f"/orders/{order.number}\\?t=")).status_code == 200


def test_a_failed_debit_on_an_order_that_cannot_wait_again_offers_no_pay_link(app):
    context = {"order_number": "N-1", "access_token": "tok", "customer_name": "Ada",
               "currency": "USD", "total": 1250, "payment_link": False}
    with app.app_context():
        message = mail.render("payment-failed:cs_1", "payment_failed", "ada@example.com", context)
    text, html = parts(message)
    assert "/pay" not in text and "/pay" not in html
    assert "The reservation has lapsed" in text and "The reservation has lapsed" in html
    assert f"{BASE_URL}/orders/N-1?t=tok" in text


@pytest.fixture
def paid_order(app, client, sandbox, products) -> str:
    session_id = place(client, products, name=HOSTILE)
    assert sandbox.pay(session_id).ok
    assert all(d.ok for d in sandbox.deliver_pending())
    return only_order(app).number


def test_a_refund_made_by_the_shop_mails_the_amount_and_a_credit_note_that_opens(
    app, sandbox, paid_order, smtp
):
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        order = db.session.get(Order, payment.order_id)
        refunds.record_refund(order, payment, 1000, reason=RefundReason.REQUESTED_BY_CUSTOMER,
                              key="refund-by-staff-1", actor="staff@example.com")
        db.session.commit()
        assert refunds.send_unsent() == 1
        db.session.remove()
    redeliver(sandbox, "refund.created", "refund.updated", "charge.refunded")

    [message] = of_subject(smtp, "refunded")
    assert "refund-made:refund-by-staff-1" in keys(app)
    assert message["To"] == ADDRESS["email"]
    assert message["Subject"] == f"Fernhill Supply: $10.00 refunded for order {paid_order}"
    text, html = parts(message)
    for body in (text, html):
        assert "$10.00" in body and paid_order in body and "Fernhill Supply" in body
    assert "&lt;script&gt;" in html and "<script>" not in html

    note_url = link(text, f"/orders/{paid_order}/credit-notes/CN-")
    assert in_html(note_url, html)
    pdf = get(app.test_client(), note_url)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_a_dashboard_refund_mails_once_however_often_its_events_arrive(
    app, sandbox, paid_order, smtp
):
    with app.app_context():
        intent = db.session.scalar(select(Payment.payment_intent_id))
    made = sandbox.dashboard_refund(intent, amount=800)
    assert all(d.ok for d in sandbox.deliver_pending())
    redeliver(sandbox, "refund.created", "charge.refunded")
    [message] = of_subject(smtp, "refunded")
    assert f"refund-made:external-{made['id']}" in keys(app)
    text, _ = parts(message)
    assert "$8.00" in text
    assert get(app.test_client(), link(text, f"/orders/{paid_order}/credit-notes/CN-")
               ).status_code == 200


def _make_staff(app, *emails: str) -> None:
    with app.app_context():
        for email in emails:
            create_staff(email, STAFF_PASSWORD)
        db.session.remove()


def _sign_in(app, email: str):
    staff = app.test_client()
    response = staff.post("/account/login", data={
        "csrf_token": csrf_token(staff), "email": email, "password": STAFF_PASSWORD})
    assert response.status_code == 303
    return staff


def test_a_dispute_flags_the_order_and_alerts_every_staff_member_once(
    app, client, sandbox, products, smtp
):
    _make_staff(app, "boss@example.com", "clerk@example.com")
    session_id = place(client, products, name=HOSTILE)
    assert sandbox.pay(session_id, card="4000 0000 0000 0259").ok
    assert all(d.ok for d in sandbox.deliver_pending())
    redeliver(sandbox, "charge.dispute.created")

    order = only_order(app)
    with app.app_context():
        [flag] = db.session.scalars(select(OrderFlag))
        assert flag.code == FlagCode.DISPUTED and "fraudulent" in flag.detail
        outcomes = list(db.session.scalars(
            select(WebhookEvent.outcome).where(WebhookEvent.type == "charge.dispute.created")))
        assert outcomes == [Outcome.FLAGGED]
    alerts = of_subject(smtp, "staff alert")
    assert sorted(r for m, r in zip(smtp.messages, smtp.recipients, strict=True)
                  if m in alerts) == [["boss@example.com"], ["clerk@example.com"]]
    message = alerts[0]
    assert message["Subject"] == (
        f"Fernhill Supply staff alert: order {order.number} flagged (disputed)")
    text, html = parts(message)
    for body in (text, html):
        assert "disputed" in body and "$12.50" in body and order.number in body
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; Eve" in html

    order_url = link(text, f"/staff/orders/{order.number}")
    assert "t=" not in order_url and in_html(order_url, html)
    assert get(app.test_client(), order_url).status_code == 302  # to sign in first
    page = get(_sign_in(app, "boss@example.com"), order_url)
    assert page.status_code == 200 and order.number in text_of(page)


def test_staff_alerts_go_to_the_staff_alert_address_when_it_is_set(
    app, client, sandbox, products, smtp, monkeypatch
):
    _make_staff(app, "boss@example.com")
    monkeypatch.setitem(app.config, "STAFF_ALERT_EMAIL", "alerts@example.com")
    session_id = place(client, products)
    assert sandbox.pay(session_id, card="4000000000000259").ok
    sandbox.deliver_pending()
    order = only_order(app)
    assert [r for m, r in zip(smtp.messages, smtp.recipients, strict=True)
            if "staff alert" in m["Subject"]] == [["alerts@example.com"]]
    [key] = [k for k in keys(app) if k.startswith(f"staff-alert:{order.number}:disputed:dp_")]
    assert key.endswith(":alerts@example.com")


def test_with_no_staff_and_no_alert_address_alerts_go_to_the_shops_sender_and_say_why(
    app, client, sandbox, products, smtp, monkeypatch
):
    monkeypatch.setitem(app.config, "MAIL_FROM", "Fernhill Supply <orders@fernhill.test>")
    monkeypatch.setitem(app.config, "STAFF_ALERT_EMAIL", None)
    assert sandbox.pay(place(client, products), card="4000000000000259").ok
    sandbox.deliver_pending()
    [alert] = of_subject(smtp, "staff alert")
    assert smtp.recipients[smtp.messages.index(alert)] == ["orders@fernhill.test"]
    text, html = parts(alert)
    for body in (text, html):
        assert "Nobody is set to receive staff alerts" in body
        assert "STAFF_ALERT_EMAIL" in body and "flask users create-staff" in body


def test_with_nobody_to_alert_and_no_usable_sender_address_the_alert_is_only_logged(
    app, monkeypatch, caplog
):
    # Alembic's logging setup (the test app migrates at start) disables existing loggers.
    monkeypatch.setattr(notifications.log, "disabled", False)
    caplog.set_level(logging.WARNING, logger=notifications.__name__)
    monkeypatch.setitem(app.config, "MAIL_FROM", "Fernhill Supply")
    monkeypatch.setitem(app.config, "STAFF_ALERT_EMAIL", None)
    with app.app_context():
        order = OrderFactory()
        written = notifications.alert_staff(order, FlagCode.DISPUTED, "disputed", cause="dp_1")
        db.session.commit()
        count = db.session.scalar(select(func.count()).select_from(OutboxMessage))
        db.session.remove()
    assert (written, count) == (0, 0)
    assert "no staff to alert" in caplog.text


def test_an_amount_mismatch_alerts_staff(app, client, sandbox, products, smtp):
    _make_staff(app, "boss@example.com")
    session_id = place(client, products)
    assert sandbox.pay(session_id).ok
    [event] = sandbox.events("checkout.session.completed")
    # The provider's session is what counts: make the order disagree with it.
    with app.app_context():
        db.session.scalar(select(Order)).total -= 1
        db.session.commit()
    assert post_event(client, event).status_code == 200
    order = only_order(app)
    [alert] = of_subject(smtp, "staff alert")
    assert alert["Subject"].endswith(f"order {order.number} flagged (payment_mismatch)")
    text, _ = parts(alert)
    assert "is for 1250 minor units, the order totals 1249" in text


@pytest.mark.parametrize(
    ("field", "value"), [("currency", "zzz"), ("amount", "12"), ("id", None)]
)
def test_a_dispute_event_that_makes_no_sense_is_refused_and_changes_nothing(
    app, client, sandbox, products, smtp, field, value
):
    _make_staff(app, "boss@example.com")
    session_id = place(client, products)
    assert sandbox.pay(session_id, card="4000000000000259").ok
    [event] = sandbox.events("charge.dispute.created")
    sandbox.deliver_pending()
    with app.app_context():
        db.session.execute(delete(OrderFlag))
        db.session.execute(delete(OutboxMessage))
        db.session.commit()
    event = {**event, "id": "evt_forged_dispute"}
    event["data"]["object"][field] = value
    assert post_event(client, event).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OrderFlag)) == 0
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert db.session.scalar(
            select(WebhookEvent.id).where(WebhookEvent.event_id == "evt_forged_dispute")) is None


def test_a_dispute_on_a_payment_the_shop_never_took_is_recorded_unmatched(
    app, client, sandbox, products, smtp
):
    _make_staff(app, "boss@example.com")
    # A payment taken on the same Stripe account by something other than this shop.
    stranger = sandbox.create_session({
        "mode": "payment", "success_url": "http://elsewhere.test/ok",
        "line_items": [{"price_data": {"currency": "usd", "unit_amount": 1500,
                                       "product_data": {"name": "Not ours"}}, "quantity": 1}],
    })
    assert sandbox.pay(stranger["id"], card="4000000000000259", email="someone@example.com").ok
    [event] = sandbox.events("charge.dispute.created")
    assert post_event(client, event).status_code == 200
    with app.app_context():
        outcome = db.session.scalar(
            select(WebhookEvent.outcome).where(WebhookEvent.event_id == event["id"]))
        assert outcome == Outcome.UNMATCHED
        assert db.session.scalar(select(func.count()).select_from(OrderFlag)) == 0
    assert of_subject(smtp, "staff alert") == []


def test_a_late_payment_past_its_codes_last_use_alerts_staff(app, client, sandbox, products,
                                                             smtp):
    _make_staff(app, "boss@example.com")
    make_code(app, "LATE", amount_off=300, max_uses=1)
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    assert apply_code(client, "LATE").status_code == 303
    session_id = session_id_of(submit_checkout(client, email="ada@example.com"))
    assert sandbox.pay(session_id).ok
    with app.app_context():
        fulfilment.expire(db.session.scalar(select(Order)), None, actor="sweeper")
        db.session.commit()
        db.session.remove()
    other = app.test_client()
    assert add_to_cart(other, products["MUG"], 1).status_code == 303
    assert apply_code(other, "LATE").status_code == 303
    submit_checkout(other, email="bo@example.com")

    assert all(d.ok for d in sandbox.deliver_pending())
    redeliver(sandbox, "checkout.session.completed")
    [alert] = of_subject(smtp, "staff alert")
    assert alert["Subject"].endswith("flagged (discount_over_limit)")
    text, html = parts(alert)
    assert "LATE" in text and "$3.00" in text and "$3.00" in html


def test_a_second_cause_for_the_same_flag_alerts_staff_again_and_a_replay_does_not(
    app, client, sandbox, products
):
    _make_staff(app, "boss@example.com")
    assert sandbox.pay(place(client, products)).ok
    sandbox.deliver_pending()
    with app.app_context():
        order = db.session.scalar(select(Order))
        written = [
            notifications.alert_staff(order, FlagCode.REFUND_FAILED, "refund 1 failed",
                                      cause="refund-1"),
            notifications.alert_staff(order, FlagCode.REFUND_FAILED, "refund 2 failed",
                                      cause="refund-2"),
            notifications.alert_staff(order, FlagCode.REFUND_FAILED, "refund 1 failed",
                                      cause="refund-1"),
        ]
        db.session.commit()
    assert written == [1, 1, 0]
