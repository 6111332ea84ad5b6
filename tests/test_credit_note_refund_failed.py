"""A refund that succeeded, then failed: its credit note stays, and says the money never went."""

from sqlalchemy import func, select

from checkout.extensions import db
from checkout.models import CreditNote, Order, Refund
from tests.state import guest_token, text_of
from tests.test_invoices import _pdf_text as pdf_text
from tests.test_refund_events import FAILS_LATER, _paid, _refund_in_full

FAILED_NOTICE = "This refund failed on {date}: the amount was not returned"


def test_a_refund_that_fails_after_its_credit_note_keeps_the_note_marked_failed(
    app, client, sandbox, products
):
    _paid(app, client, sandbox, products, card=FAILS_LATER)
    _refund_in_full(app, "refund-5126")
    with app.app_context():
        [note] = db.session.scalars(select(CreditNote))
        number, issued = note.number, note.issued_at
        db.session.remove()
    assert all(r.ok for r in sandbox.deliver_pending())  # refund.updated, refund.failed

    with app.app_context():
        # A numbered document is never withdrawn: the same note, in the same series.
        assert db.session.scalar(select(func.count()).select_from(CreditNote)) == 1
        note = db.session.scalar(select(CreditNote))
        refund = db.session.scalar(select(Refund))
        order_number = db.session.get(Order, refund.order_id).number
        db.session.remove()
    assert (note.number, note.issued_at, note.amount) == (number, issued, 4800)
    assert refund.status == "failed"
    notice = FAILED_NOTICE.format(date=f"{refund.updated_at:%d %b %Y, %H:%M UTC}")

    token = guest_token(app, order_number)
    base = f"/orders/{order_number}/credit-notes/{number}"
    page = " ".join(text_of(client.get(f"{base}?t={token}")).split())
    assert notice in page and "expired_or_canceled_card" in page
    assert notice in " ".join(pdf_text(client.get(f"{base}.pdf?t={token}").data).split())
    order_page = " ".join(text_of(client.get(f"/orders/{order_number}?t={token}")).split())
    assert f"Credit note {number} ($48.00, refund failed)" in order_page


def test_a_credit_note_whose_refund_succeeded_says_nothing_of_failure(
    app, client, sandbox, products
):
    _paid(app, client, sandbox, products)
    _refund_in_full(app, "refund-ok")
    with app.app_context():
        number = db.session.scalar(select(CreditNote)).number
        order_number = db.session.scalar(select(Order.number))
        db.session.remove()
    assert all(r.ok for r in sandbox.deliver_pending())
    token = guest_token(app, order_number)
    page = text_of(client.get(f"/orders/{order_number}/credit-notes/{number}?t={token}"))
    assert "refund failed" not in page.lower()
    assert f"Credit note {number} ($48.00):" in " ".join(
        text_of(client.get(f"/orders/{order_number}?t={token}")).split())
