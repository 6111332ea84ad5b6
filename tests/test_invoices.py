"""Invoices and credit notes: gap-free numbers under races and rollbacks, amounts, PDF, access."""

import io
import re
import threading

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from checkout.db import now_utc
from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import RefundStatus
from checkout.extensions import db
from checkout.models import CreditNote, Invoice, Order, Payment, Refund
from checkout.models.payment import RefundReason
from checkout.services import invoices, refunds
from checkout.services.orders import lock_order
from tests.factories import OrderFactory, PaymentFactory, ProductFactory
from tests.shop import add_to_cart, follow_success, place_and_get_session
from tests.state import guest_token, text_of
from tests.test_orders_access import make_shopper, sign_in

YEAR = now_utc().year


def _invoice_number(n: int) -> str:
    return f"INV-{YEAR}-{n:06d}"


def _paid_orders(app, count: int) -> list[tuple[int, int]]:
    """`count` paid orders with their payments, not yet invoiced: (order id, payment id)."""
    with app.app_context():
        made = [PaymentFactory() for _ in range(count)]
        ids = [(p.order_id, p.id) for p in made]
        db.session.remove()
    return ids


def _invoice_in_thread(app, order_id, payment_id, barrier, *, commit=True, out=None) -> None:
    with app.app_context():
        barrier.wait()
        try:
            order = lock_order(order_id)
            invoice = invoices.issue_invoice(order, payment=db.session.get(Payment, payment_id))
            if out is not None:
                out.append(invoice.number)
            if commit:
                db.session.commit()
            else:
                db.session.rollback()
        finally:
            db.session.remove()


def _invoice_numbers(app) -> list[str]:
    with app.app_context():
        numbers = list(db.session.scalars(select(Invoice.number)))
        db.session.remove()
    return numbers


def _run(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive()


def test_twenty_orders_invoiced_at_once_get_numbers_one_to_twenty(app):
    paid = _paid_orders(app, 20)
    barrier = threading.Barrier(20)
    _run([threading.Thread(target=_invoice_in_thread, args=(app, o, p, barrier))
          for o, p in paid])
    assert sorted(_invoice_numbers(app)) == [_invoice_number(n) for n in range(1, 21)]
    with app.app_context():
        assert {i.order_id for i in db.session.scalars(select(Invoice))} == {o for o, _ in paid}


def test_numbers_taken_by_transactions_that_roll_back_are_given_back_under_a_race(app):
    paid = _paid_orders(app, 20)
    barrier = threading.Barrier(20)
    taken: list[str] = []
    _run([threading.Thread(target=_invoice_in_thread, args=(app, o, p, barrier),
                           kwargs={"commit": i % 2 == 0, "out": taken})
          for i, (o, p) in enumerate(paid)])
    assert len(taken) == 20  # every thread took a number; half of them then rolled back
    assert sorted(_invoice_numbers(app)) == [_invoice_number(n) for n in range(1, 11)]


def test_a_rollback_after_taking_a_number_leaves_no_gap(app):
    (first_order, first_payment), (second_order, second_payment) = _paid_orders(app, 2)
    with app.app_context():
        order = lock_order(first_order)
        dropped = invoices.issue_invoice(order, payment=db.session.get(Payment, first_payment))
        assert dropped.number == _invoice_number(1)
        db.session.rollback()
        order = lock_order(second_order)
        kept = invoices.issue_invoice(order, payment=db.session.get(Payment, second_payment))
        db.session.commit()
        assert kept.number == _invoice_number(1)
        order = lock_order(first_order)
        later = invoices.issue_invoice(order, payment=db.session.get(Payment, first_payment))
        db.session.commit()
        assert later.number == _invoice_number(2)


def test_numbers_read_kind_year_and_six_digits():
    assert invoices.format_number("invoice", 2026, 123) == "INV-2026-000123"
    assert invoices.format_number("credit_note", 2027, 7) == "CN-2027-000007"


def test_an_order_has_one_invoice_however_often_it_is_issued(app):
    [(order_id, payment_id)] = _paid_orders(app, 1)
    with app.app_context():
        payment = db.session.get(Payment, payment_id)
        first = invoices.issue_invoice(lock_order(order_id), payment=payment)
        db.session.commit()
        again = invoices.issue_invoice(lock_order(order_id), payment=payment)
        db.session.commit()
        assert again.id == first.id
        another = PaymentFactory()
        other = invoices.issue_invoice(lock_order(another.order_id), payment=another)
        db.session.commit()
        assert other.number == _invoice_number(2)  # issuing again took no number


@pytest.fixture
def paid_order(app, client, sandbox, products) -> str:
    """Two mugs and a pen paid by card in the sandbox, confirmed by the webhook; its number."""
    assert add_to_cart(client, products["PEN"], 1).status_code == 303
    session_id = place_and_get_session(client, products["MUG"], 2)
    assert sandbox.pay(session_id).ok
    assert all(d.ok for d in sandbox.deliver_pending())
    with app.app_context():
        order = db.session.scalar(select(Order))
        assert order.status == OrderStatus.PAYMENT_CONFIRMED
        number = order.number
        db.session.remove()
    return number


def test_the_invoice_of_an_order_paid_in_the_sandbox_equals_the_order_to_the_cent(
    app, sandbox, paid_order
):
    with app.app_context():
        order = db.session.scalar(select(Order))
        invoice = invoices.invoice_of(order)
        payment = db.session.scalar(select(Payment))
        assert invoice.number == _invoice_number(1)
        assert invoice.payment_id == payment.id
        assert (invoice.currency, invoice.subtotal, invoice.discount, invoice.shipping,
                invoice.tax, invoice.total) == (order.currency, order.subtotal, order.discount,
                                                order.shipping, order.tax, order.total)
        assert [(li.sku, li.title, li.unit_price, li.quantity, li.line_total)
                for li in invoice.lines] == [
            (li.sku, li.title, li.unit_price, li.quantity, li.line_total) for li in order.lines]
        assert invoice.total == 2 * 2400 + 1250 == payment.amount
        assert (invoice.buyer_email, invoice.buyer_name, invoice.buyer_country) == (
            "ada@example.com", "Ada Lovelace", "US")
        assert invoice.seller_name == app.config["STORE_NAME"]
        total = invoice.total
    [completed] = sandbox.events("checkout.session.completed")
    assert completed["data"]["object"]["amount_total"] == total


def test_the_success_page_and_the_webhook_issue_one_invoice(app, client, sandbox, products):
    session_id = place_and_get_session(client, products["MUG"], 1)
    result = sandbox.pay(session_id)
    assert follow_success(client, result.redirect_url).status_code == 200
    assert all(d.ok for d in sandbox.deliver_pending())
    assert _invoice_numbers(app) == [_invoice_number(1)]


def _pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_invoice_pdf_is_a_pdf_showing_the_number_and_total(app, client, paid_order):
    token = guest_token(app, paid_order)
    response = client.get(f"/orders/{paid_order}/invoice.pdf?t={token}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert f'filename="{_invoice_number(1)}.pdf"' in response.headers["Content-Disposition"]
    text = _pdf_text(response.data)
    assert _invoice_number(1) in text and paid_order in text
    assert "$60.50" in text and "Stoneware Mug" in text and "Ada Lovelace" in text


def test_the_order_page_links_the_invoice_and_the_html_invoice_shows_it(app, client, paid_order):
    token = guest_token(app, paid_order)
    page = client.get(f"/orders/{paid_order}?t={token}").get_data(as_text=True)
    links = {href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+)"', page)}
    assert f"/orders/{paid_order}/invoice?t={token}" in links
    assert f"/orders/{paid_order}/invoice.pdf?t={token}" in links
    invoice = text_of(client.get(f"/orders/{paid_order}/invoice?t={token}"))
    assert _invoice_number(1) in invoice and "Total paid" in invoice and "$60.50" in invoice
    assert "$48.00" in invoice and "$12.50" in invoice


def test_an_unpaid_order_has_no_invoice_link_and_its_invoice_is_a_404(app, client, products):
    place_and_get_session(client, products["MUG"], 1)
    with app.app_context():
        number = db.session.scalar(select(Order.number))
    token = guest_token(app, number)
    assert "/invoice" not in client.get(f"/orders/{number}?t={token}").get_data(as_text=True)
    for path in ("invoice", "invoice.pdf"):
        response = client.get(f"/orders/{number}/{path}?t={token}")
        assert response.status_code == 404
        assert "This order has no invoice yet" in text_of(response)


def test_invoices_follow_the_order_pages_access_rule(app, client, sandbox, products):
    make_shopper(app, "grace@example.com")
    sign_in(client, "grace@example.com")
    session_id = place_and_get_session(client, products["PEN"], 2)
    assert sandbox.pay(session_id).ok
    sandbox.deliver_pending()
    with app.app_context():
        number = db.session.scalar(select(Order.number))
    for path in ("invoice", "invoice.pdf"):
        assert client.get(f"/orders/{number}/{path}").status_code == 200  # the owner
        assert app.test_client().get(f"/orders/{number}/{path}").status_code == 404
        assert app.test_client().get(f"/orders/{number}/{path}?t=forged").status_code == 404
        assert app.test_client().get(
            f"/orders/{number}/{path}?t={guest_token(app, number)}").status_code == 200
    make_shopper(app, "mallory@example.com")
    mallory = app.test_client()
    sign_in(mallory, "mallory@example.com")
    for path in ("invoice", "invoice.pdf", f"credit-notes/CN-{YEAR}-000001"):
        response = mallory.get(f"/orders/{number}/{path}")
        assert response.status_code == 404
        assert "We could not find that order." in text_of(response)
    assert app.test_client().get("/orders/NO-SUCH/invoice").status_code == 404


def _refund(app, amount: int, key: str) -> None:
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        order = db.session.get(Order, payment.order_id)
        refunds.record_refund(order, payment, amount, reason=RefundReason.REQUESTED_BY_CUSTOMER,
                              key=key, actor="staff@example.com")
        db.session.commit()
        assert refunds.send_unsent() == 1
        db.session.remove()


def test_each_refund_that_succeeds_gets_a_credit_note_in_its_own_series(
    app, client, sandbox, paid_order
):
    _refund(app, 1000, "refund-1")
    _refund(app, 250, "refund-2")
    assert all(d.ok for d in sandbox.deliver_pending())  # the refund events add nothing
    with app.app_context():
        invoice = db.session.scalar(select(Invoice))
        notes = list(db.session.scalars(select(CreditNote).order_by(CreditNote.id)))
        assert [(n.number, n.amount, n.currency, n.invoice_id) for n in notes] == [
            (f"CN-{YEAR}-000001", 1000, "USD", invoice.id),
            (f"CN-{YEAR}-000002", 250, "USD", invoice.id),
        ]
        assert {n.refund_id for n in notes} == set(db.session.scalars(select(Refund.id)))
        assert notes[0].reason == "Requested by the customer"
    token = guest_token(app, paid_order)
    page = client.get(f"/orders/{paid_order}?t={token}").get_data(as_text=True)
    assert f"/orders/{paid_order}/credit-notes/CN-{YEAR}-000002.pdf?t=" in page
    note = text_of(client.get(f"/orders/{paid_order}/credit-notes/CN-{YEAR}-000001?t={token}"))
    assert f"CN-{YEAR}-000001" in note and _invoice_number(1) in note and "$10.00" in note
    pdf = client.get(f"/orders/{paid_order}/credit-notes/CN-{YEAR}-000001.pdf?t={token}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = _pdf_text(pdf.data)
    assert f"CN-{YEAR}-000001" in text and _invoice_number(1) in text and "$10.00" in text
    missing = client.get(f"/orders/{paid_order}/credit-notes/CN-{YEAR}-000009?t={token}")
    assert missing.status_code == 404
    assert "no credit note with that number" in text_of(missing)


def test_a_refund_made_on_the_dashboard_gets_a_credit_note_too(app, sandbox, paid_order):
    with app.app_context():
        intent = db.session.scalar(select(Payment.payment_intent_id))
    sandbox.dashboard_refund(intent, amount=800)
    assert all(d.ok for d in sandbox.deliver_pending())
    with app.app_context():
        [note] = db.session.scalars(select(CreditNote))
        assert (note.number, note.amount, note.reason) == (f"CN-{YEAR}-000001", 800, "Refund")


def test_only_a_succeeded_refund_of_the_invoiced_payment_gets_a_credit_note(app):
    [(order_id, payment_id)] = _paid_orders(app, 1)
    with app.app_context():
        invoices.issue_invoice(lock_order(order_id), payment=db.session.get(Payment, payment_id))
        order = db.session.get(Order, order_id)
        duplicate = PaymentFactory(order=order)
        of_duplicate = Refund(
            order_id=order_id, payment_id=duplicate.id, amount=500, currency="USD",
            reason=RefundReason.DUPLICATE, status=RefundStatus.SUCCEEDED,
            idempotency_key="dup", requested_by="staff@example.com",
        )
        pending = Refund(
            order_id=order_id, payment_id=payment_id, amount=500, currency="USD",
            reason=RefundReason.REQUESTED_BY_CUSTOMER, idempotency_key="pending",
            requested_by="staff@example.com",
        )
        db.session.add_all([of_duplicate, pending])
        db.session.flush()
        assert invoices.issue_credit_note(of_duplicate) is None
        assert invoices.issue_credit_note(pending) is None
        db.session.commit()
        assert db.session.scalars(select(CreditNote)).all() == []


def test_hostile_names_are_escaped_on_the_invoice(app):
    hostile = '<script>alert("x")</script>'
    with app.app_context():
        product = ProductFactory(title=f"Mug {hostile}", sku="MUG-X")
        order = OrderFactory(items=[(product, 1)], ship_name=hostile,
                             ship_line1="<img src=x onerror=alert(1)>",
                             status=OrderStatus.PAYMENT_CONFIRMED)
        payment = PaymentFactory(order=order)
        invoice = invoices.issue_invoice(lock_order(order.id), payment=payment)
        db.session.commit()
        page = invoices.render_html(invoice)
        assert "<script>" not in page and "<img" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
        assert hostile in _pdf_text(invoices.render_pdf(invoice))
