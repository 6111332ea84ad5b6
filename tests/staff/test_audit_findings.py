"""Audit of issues 7 and 8 (branch audit78): each test shows a finding on main; all fail there.

They describe what the issues ask for, not how to build it: a fix may choose its own way as long
as the assertion's intent holds (stated in each docstring).
"""

import re
from decimal import Decimal

from sqlalchemy import insert, literal, select

from checkout.domain.fulfilment_actions import StaffAction
from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import RefundStatus
from checkout.extensions import db
from checkout.models import DiscountRedemption, Order, OrderEvent, OrderFlag, Refund, User
from checkout.models.order import FlagCode
from checkout.services import discounts
from checkout.services.discounts import DiscountTerms
from tests.refund_support import REFUND_FAILS_LATER, line_ids, paid_order, refund_form
from tests.staff.test_bank_transfers import (  # noqa: F401  (fixtures)
    bank_transfer_on,
    record,
    transfer_order,
)
from tests.staff.test_order_page import act
from tests.staff.test_orders_scale import _bulk_insert_orders
from tests.staff.test_webhook_log import (  # noqa: F401  (fixtures)
    failing_once,
    paid_event,
    replay,
)
from tests.state import only_order, stock_of, text_of
from tests.test_webhooks import post_event


def _refunds(app) -> list[tuple[int, str, str | None]]:
    with app.app_context():
        rows = [(r.amount, r.status, r.failure_reason)
                for r in db.session.scalars(select(Refund).order_by(Refund.id))]
        db.session.remove()
    return rows


def _flags(app) -> list[str]:
    with app.app_context():
        return [f.code for f in db.session.scalars(select(OrderFlag))]


def test_refunding_a_bank_transfer_order_is_not_sent_to_the_card_provider(
    app, client, admin, transfer_order  # noqa: F811
):
    """Issue 8 (refund; bank transfer): an admin's refund of an order paid by bank transfer.

    On main it is sent to Stripe with no payment intent, Stripe rejects it ("One of the
    following params should be provided: payment_intent or charge"), the refund is recorded
    `failed` and the order flagged refund_failed. A bank-transfer order's refund must either be
    refused up front with a clear 4xx (return the money by bank) or recorded as a manual refund
    staff make themselves; never a doomed call to the card provider.
    """
    number = transfer_order.number
    assert record(admin, number, "48.00").status_code == 303
    data = dict(refund_form(admin, number))
    data.update({"mode": "amount", "reason": "damaged", "note": "", "amount": "10.00"})
    response = admin.post(f"/staff/orders/{number}/refund", data=data)
    assert response.status_code in (303, 409, 422), response.status_code
    assert not any(status == RefundStatus.FAILED for _, status, _ in _refunds(app)), \
        _refunds(app)
    assert FlagCode.REFUND_FAILED not in _flags(app)


def test_cancelling_a_paid_bank_transfer_order_does_not_end_in_a_failed_refund(
    app, client, admin, transfer_order  # noqa: F811
):
    """Issue 8 (cancel: paid → cancel with a full refund) for an order paid by bank transfer.

    On main the order is cancelled and its stock returned, but the "full refund" goes to Stripe
    without a payment intent and fails: the shopper's money is kept while the order says
    cancelled. Either refuse the cancel with a clear message or record the refund staff make
    by bank; never a refund that can only fail.
    """
    number = transfer_order.number
    assert record(admin, number, "48.00").status_code == 303
    act(admin, number, StaffAction.CANCEL)
    assert not any(status == RefundStatus.FAILED for _, status, _ in _refunds(app)), \
        _refunds(app)
    assert FlagCode.REFUND_FAILED not in _flags(app)


def test_plain_staff_cannot_refund_a_paid_order_by_cancelling_it(
    app, client, staff, sandbox, products
):
    """Issue 8 (Access): refunds are admin-only; staff "see everything, fulfil orders, notes".

    On main a non-admin staff member's "Cancel order" on a paid order refunds the whole payment
    (the refund form itself is admin-only and 403s for them). Cancelling a paid order is a
    refund and should be admin-only too (or staff's cancel should not move money).
    """
    number = paid_order(app, client, sandbox, {products["MUG"]: 2})
    response = act(staff, number, StaffAction.CANCEL)
    assert response.status_code == 403, response.status_code
    assert _refunds(app) == []
    assert only_order(app).status == OrderStatus.PAYMENT_CONFIRMED


def test_replaying_a_failed_webhook_names_the_staff_member_who_did_it(
    app, client, staff, paid_event, failing_once  # noqa: F811
):
    """Issue 8: "every staff action on the order timeline with who did it".

    Replaying a failed event from the webhook log is a staff action that confirms the order's
    payment, but on main nothing records who replayed it: the order's timeline shows only the
    handler's system entries and the event row keeps no actor. The staff member's account
    must be on the order's timeline (or at least on the event's record).
    """
    assert post_event(client, paid_event).status_code == 500
    assert replay(staff, paid_event["id"]).status_code == 303
    with app.app_context():
        staff_id = db.session.scalar(select(User.id).where(User.email == "staff@example.com"))
        by_staff = db.session.scalars(
            select(OrderEvent).where(
                (OrderEvent.actor_user_id == staff_id) | (OrderEvent.actor == "staff@example.com")
            )
        ).all()
        db.session.remove()
    event_page = text_of(staff.get(f"/staff/webhooks/{paid_event['id']}"))
    assert by_staff or "staff@example.com" in event_page


def test_a_bank_transfer_payment_shows_no_python_none_on_the_staff_order_page(
    app, client, admin, transfer_order  # noqa: F811
):
    """Issue 8 (order page: payments with their Stripe ids): a bank transfer has none.

    On main the payments table prints the literal "None" in the checkout-session column for a
    bank transfer (templates/staff/order/show.html: `payment.checkout_session_id` has no
    `or "—"`, the payment-intent cell beside it has); it should show a dash or the bank
    reference the payment keeps.
    """
    number = transfer_order.number
    assert record(admin, number, "48.00").status_code == 303
    page = text_of(admin.get(f"/staff/orders/{number}"))
    payments = page.split("Payments", 1)[1].split("Refunds", 1)[0]
    assert ">None<" not in payments.replace(" ", "")


def test_a_popular_codes_page_does_not_list_every_use_at_once(app, admin):
    """Issue 8 (discount codes: see redemptions) at the issue's scale (100,000 orders).

    On main the code's edit page reads and renders every redemption in one list, with no page:
    WELCOME10 is unlimited, so a busy shop's page grows with every order. The uses should come
    a bounded page at a time (as the orders list does), with the total count shown.
    """
    with app.app_context():
        _bulk_insert_orders(0, 3_000)
        code = discounts.create(DiscountTerms(code="WELCOME10", percent_off=Decimal(10)))
        db.session.execute(
            insert(DiscountRedemption.__table__).from_select(
                ["discount_code_id", "order_id", "email", "created_at"],
                select(literal(code.id), Order.id, Order.email, Order.created_at),
            )
        )
        db.session.commit()
        code_id = code.id
        db.session.remove()
    page = text_of(admin.get(f"/staff/discounts/{code_id}"))
    listed = re.findall(r">(B1\d{7})</a></td>", page)
    assert 0 < len(listed) <= 200, len(listed)
    older = re.search(r'<a href="([^"]+)" rel="next">Older uses</a>', page)
    assert older, "no way to the older uses"
    next_page = text_of(admin.get(older.group(1).replace("&amp;", "&")))
    more = re.findall(r">(B1\d{7})</a></td>", next_page)
    assert more and not set(more) & set(listed)


def test_a_unit_restocked_by_a_refund_that_failed_is_not_restocked_again(
    app, client, admin, sandbox, products
):
    """Issue 8 (refund by lines with restock; a refund that fails later) and DESIGN's ledger.

    On main a failed refund gives its units back as refundable but leaves its restock in place,
    so refunding the same unit again with restock puts it on the shelf a second time: two
    returns in the ledger for one unit sold, and stock that does not exist is for sale. Either
    the failure takes the restock back, or a unit restocked once is not restocked again.
    """
    number = paid_order(app, client, sandbox, {products["MUG"]: 2}, card=REFUND_FAILS_LATER)
    mug_line = line_ids(app, number)["MUG"]
    before = stock_of(app, products["MUG"])
    for _ in range(2):
        data = dict(refund_form(admin, number))
        data.update({"mode": "lines", "reason": "damaged", "note": "", "restock": "y",
                     f"line-{mug_line}": "1"})
        assert admin.post(f"/staff/orders/{number}/refund", data=data).status_code == 303
        sandbox.deliver_pending()  # the sandbox fails this card's refunds at the next tick
    assert [status for _, status, _ in _refunds(app)] == [RefundStatus.FAILED] * 2
    on_hand_after = stock_of(app, products["MUG"])[0]
    assert on_hand_after <= before[0] + 1, (before, on_hand_after)
