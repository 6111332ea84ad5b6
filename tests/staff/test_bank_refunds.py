"""Refunds of bank-transfer payments: recorded in the ledger, paid back by the shop's bank.

Nothing about them ever reaches the payment provider: each test checks the sandbox holds no
refund and sent no refund event.
"""

import re

import pytest
from sqlalchemy import select

from checkout.domain.fulfilment_actions import StaffAction
from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import PaymentStatus, RefundStatus
from checkout.extensions import db
from checkout.models import CreditNote, Order, OrderEvent, OutboxMessage, Refund, RefundRequest
from checkout.services import refunds
from tests.conftest import csrf_token
from tests.refund_support import (
    hidden,
    ledger_state,
    line_ids,
    paid_order,
    payment_of,
    refund_form,
    refunds_of,
)
from tests.staff.test_bank_transfers import ACCOUNT, place_by_transfer, record
from tests.staff.test_refunds import _race, _refund
from tests.state import guest_token, only_order, stock_of, text_of


@pytest.fixture
def transfer_paid(app, client, staff, products):
    """A bank-transfer order for two mugs ($48.00), placed by a guest and recorded as paid."""
    saved = {key: app.config.get(key) for key in ACCOUNT}
    app.config.update(ACCOUNT)
    assert place_by_transfer(client, products["MUG"]).status_code == 303
    number = only_order(app).number
    assert record(staff, number, "48.00").status_code == 303
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED
    yield number
    app.config.update(saved)


def assert_nothing_at_the_provider(sandbox) -> None:
    assert sandbox.list_refunds({})["data"] == []
    assert sandbox.events("refund.created") == []
    assert sandbox.events("charge.refunded") == []


def _refund_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Refund.id).order_by(Refund.id.desc()))


def _sent_token(admin, number: str, refund_id: int) -> str:
    """The CSRF token of the refund page's mark-sent form for this refund."""
    page = admin.get(f"/staff/orders/{number}/refund").get_data(as_text=True)
    return hidden(page, f"sent-{refund_id}-csrf_token")


def _mark_sent(admin, number: str, refund_id: int, reference: str = "OUT-2026-0042",
               token: str | None = None):
    prefix = f"sent-{refund_id}"
    return admin.post(
        f"/staff/orders/{number}/refunds/{refund_id}/sent",
        data={f"{prefix}-csrf_token": token or _sent_token(admin, number, refund_id),
              f"{prefix}-reference": reference},
    )


def _outbox_keys(app, prefix: str) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(OutboxMessage.key).where(OutboxMessage.key.startswith(prefix))))


def test_the_refund_form_of_a_transfer_order_says_the_bank_pays_it_back(
    app, admin, transfer_paid
):
    page = text_of(admin.get(f"/staff/orders/{transfer_paid}/refund"))
    assert "paid by bank transfer" in page
    assert "send the money back from the shop's bank account" in page
    assert 'name="amount" type="text" value="48.00"' in page


def test_a_transfer_refund_is_recorded_once_pending_and_never_sent_to_the_provider(
    app, admin, sandbox, transfer_paid
):
    form = refund_form(admin, transfer_paid)
    response = _refund(admin, transfer_paid, form, amount="12.00")
    assert response.status_code == 303, text_of(response)
    # The same form again (a double click) finds the first refund.
    assert _refund(admin, transfer_paid, form, amount="12.00").status_code == 303
    assert refunds_of(app) == [(1200, RefundStatus.PENDING, "damaged")]
    assert payment_of(app) == (4800, 1200, PaymentStatus.PARTIALLY_REFUNDED)
    page = text_of(admin.get(response.headers["Location"]))
    assert "to send by bank transfer" in page
    # The refund job leaves it alone: it is never the provider's to make.
    with app.app_context():
        assert refunds.send_unsent() == 0
    assert refunds_of(app) == [(1200, RefundStatus.PENDING, "damaged")]
    assert_nothing_at_the_provider(sandbox)


def test_marking_a_transfer_refund_sent_completes_it_once_with_credit_note_and_mail(
    app, admin, client, sandbox, transfer_paid
):
    assert _refund(admin, transfer_paid, amount="48.00").status_code == 303
    refund_id = _refund_id(app)
    token = _sent_token(admin, transfer_paid, refund_id)
    response = _mark_sent(admin, transfer_paid, refund_id, reference="OUT-2026-0042")
    assert response.status_code == 303, text_of(response)
    assert refunds_of(app) == [(4800, RefundStatus.SUCCEEDED, "damaged")]
    assert payment_of(app) == (4800, 4800, PaymentStatus.REFUNDED)
    with app.app_context():
        refund = db.session.get(Refund, refund_id)
        assert refund.bank_reference == "OUT-2026-0042"
        assert refund.provider_refund_id is None
        [note] = db.session.scalars(select(CreditNote)).all()
        assert (note.refund_id, note.amount) == (refund_id, 4800)
        assert any("by bank transfer (reference OUT-2026-0042)" in e.text
                   and e.actor == "admin@example.com"
                   for e in db.session.scalars(select(OrderEvent)))
    assert len(_outbox_keys(app, "refund-made:")) == 1

    before = ledger_state(app)
    # The same form sent again (a double click, a second tab) records nothing more.
    again = _mark_sent(admin, transfer_paid, refund_id, reference="OUT-2026-0043", token=token)
    assert again.status_code == 409
    assert "already" in text_of(again)
    assert ledger_state(app) == before
    token = guest_token(app, transfer_paid)
    shopper_page = text_of(client.get(f"/orders/{transfer_paid}?t={token}"))
    assert "Refunded" in shopper_page
    assert_nothing_at_the_provider(sandbox)


def test_transfer_refunds_never_exceed_what_was_paid(app, admin, sandbox, transfer_paid):
    assert _refund(admin, transfer_paid, amount="40.00").status_code == 303
    before = ledger_state(app)
    over = _refund(admin, transfer_paid, amount="10.00")
    assert over.status_code == 409
    assert "Only $8.00 of this payment is left to refund." in text_of(over)
    assert ledger_state(app) == before
    assert payment_of(app) == (4800, 4000, PaymentStatus.PARTIALLY_REFUNDED)
    assert_nothing_at_the_provider(sandbox)


def test_two_admins_refunding_the_last_of_a_transfer_at_once_make_one_refund(
    app, admin, sandbox, transfer_paid
):
    assert _race(app, transfer_paid, [None, None], "30.00") == [303, 409]
    assert refunds_of(app) == [(3000, RefundStatus.PENDING, "damaged")]
    assert payment_of(app) == (4800, 3000, PaymentStatus.PARTIALLY_REFUNDED)
    assert_nothing_at_the_provider(sandbox)


@pytest.mark.parametrize("reference, message", [
    ("", "Enter the bank's reference for the transfer back."),
    ("x" * 81, "Keep the reference to 80 characters."),
    ("OUT\x01", "Remove the control characters."),
])
def test_marking_sent_with_a_bad_reference_is_refused_and_changes_nothing(
    app, admin, transfer_paid, reference, message
):
    assert _refund(admin, transfer_paid, amount="12.00").status_code == 303
    before = ledger_state(app)
    response = _mark_sent(admin, transfer_paid, _refund_id(app), reference=reference)
    assert response.status_code == 422
    assert message in text_of(response)
    assert ledger_state(app) == before


def test_a_card_refund_or_another_orders_refund_cannot_be_marked_sent(
    app, admin, client, sandbox, products, transfer_paid
):
    from_card = _card_order(app, sandbox, products)
    assert _refund(admin, from_card, amount="5.00").status_code == 303
    card_refund = _refund_id(app)
    assert _refund(admin, transfer_paid, amount="5.00").status_code == 303
    bank_refund = _refund_id(app)
    before = ledger_state(app)
    token = csrf_token(admin, f"/staff/orders/{from_card}/refund")
    card = admin.post(f"/staff/orders/{from_card}/refunds/{card_refund}/sent",
                      data={f"sent-{card_refund}-csrf_token": token,
                            f"sent-{card_refund}-reference": "X1"})
    assert card.status_code == 409
    assert "is made by Stripe" in text_of(card)
    elsewhere = admin.post(f"/staff/orders/{from_card}/refunds/{bank_refund}/sent",
                           data={f"sent-{bank_refund}-csrf_token": token,
                                 f"sent-{bank_refund}-reference": "X1"})
    assert elsewhere.status_code == 404
    assert admin.post(f"/staff/orders/{from_card}/refunds/999999/sent",
                      data={"sent-999999-csrf_token": token,
                            "sent-999999-reference": "X1"}).status_code == 404
    assert ledger_state(app) == before


def _card_order(app, sandbox, products) -> str:
    with app.test_client() as shopper:
        return paid_order(app, shopper, sandbox, {products["PEN"]: 1})


def test_plain_staff_cannot_mark_a_transfer_refund_sent(app, admin, staff, transfer_paid):
    assert _refund(admin, transfer_paid, amount="12.00").status_code == 303
    refund_id = _refund_id(app)
    before = ledger_state(app)
    token = csrf_token(staff, "/staff/")
    response = staff.post(f"/staff/orders/{transfer_paid}/refunds/{refund_id}/sent",
                          data={f"sent-{refund_id}-csrf_token": token,
                                f"sent-{refund_id}-reference": "OUT-1"})
    assert response.status_code == 403
    assert ledger_state(app) == before


def test_cancelling_a_paid_transfer_order_returns_stock_and_owes_a_bank_refund(
    app, staff, admin, sandbox, products, transfer_paid
):
    assert stock_of(app, products["MUG"]) == (18, 0)
    path = f"/staff/orders/{transfer_paid}/{StaffAction.CANCEL}"
    response = admin.post(path, data={"csrf_token": csrf_token(admin)})
    assert response.status_code == 303, text_of(response)
    assert admin.post(path, data={"csrf_token": csrf_token(admin)}).status_code == 409
    assert only_order(app).status == OrderStatus.CANCELLED
    assert stock_of(app, products["MUG"]) == (20, 0)
    assert refunds_of(app) == [(4800, RefundStatus.PENDING, "order_cancelled")]
    assert payment_of(app) == (4800, 4800, PaymentStatus.REFUNDED)
    with app.app_context():
        order = db.session.scalar(select(Order))
        assert any("send it back from the shop's bank account" in e.text for e in order.events)
    with app.app_context():
        assert refunds.send_unsent() == 0
    assert_nothing_at_the_provider(sandbox)

    page = text_of(staff.get(f"/staff/orders/{transfer_paid}"))
    assert "to send by bank transfer" in page
    assert _mark_sent(admin, transfer_paid, _refund_id(app)).status_code == 303
    assert refunds_of(app) == [(4800, RefundStatus.SUCCEEDED, "order_cancelled")]
    assert len(_outbox_keys(app, "refund-made:")) == 1
    assert_nothing_at_the_provider(sandbox)


def test_approving_a_request_on_a_transfer_order_owes_a_bank_refund_once(
    app, client, admin, sandbox, products, transfer_paid
):
    token = guest_token(app, transfer_paid)
    ids = line_ids(app, transfer_paid)
    page = client.get(f"/orders/{transfer_paid}?t={token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    asked = client.post(f"/orders/{transfer_paid}/refund-request?t={token}",
                        data={"csrf_token": csrf, "reason": "One was chipped",
                              f"line-{ids['MUG']}": "1"})
    assert asked.status_code == 303, text_of(asked)
    with app.app_context():
        request_id = db.session.scalar(select(RefundRequest.id))
    queue = admin.get("/staff/refund-requests").get_data(as_text=True)
    data = {f"approve-{request_id}-csrf_token": hidden(queue, f"approve-{request_id}-csrf_token")}
    response = admin.post(f"/staff/refund-requests/{request_id}/approve", data=data)
    assert response.status_code == 303, text_of(response)
    assert admin.post(f"/staff/refund-requests/{request_id}/approve",
                      data=data).status_code == 409
    assert refunds_of(app) == [(2400, RefundStatus.PENDING, "requested_by_customer")]
    assert payment_of(app) == (4800, 2400, PaymentStatus.PARTIALLY_REFUNDED)
    assert len(_outbox_keys(app, "refund-request-approved:")) == 1
    with app.app_context():
        assert refunds.send_unsent() == 0
    assert_nothing_at_the_provider(sandbox)

    assert _mark_sent(admin, transfer_paid, _refund_id(app)).status_code == 303
    assert refunds_of(app) == [(2400, RefundStatus.SUCCEEDED, "requested_by_customer")]
    assert_nothing_at_the_provider(sandbox)
