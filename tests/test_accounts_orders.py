"""My orders shows each order's status, tracking and refunds, and only the shopper's own."""

import re

from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import PaymentStatus, RefundStatus
from checkout.extensions import db
from checkout.models import Refund
from checkout.models.payment import RefundReason
from tests.accounts_support import make_shopper, signed_in_browser
from tests.factories import OrderFactory, PaymentFactory

EMAIL = "ada@example.com"


def row_of(page: str, number: str) -> str:
    match = re.search(rf"<tr>(?:(?!</tr>).)*{number}(?:(?!</tr>).)*</tr>", page, re.S)
    assert match, f"order {number} not listed"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0)))


def refund(payment, amount: int, status: RefundStatus, key: str) -> None:
    db.session.add(Refund(
        order_id=payment.order_id, payment_id=payment.id, amount=amount,
        currency=payment.currency, reason=RefundReason.REQUESTED_BY_CUSTOMER, status=status,
        idempotency_key=key, requested_by="staff@example.com"))
    db.session.commit()


def test_my_orders_shows_status_tracking_and_refunds(app):
    user_id = make_shopper(app, EMAIL)
    with app.app_context():
        shipped = OrderFactory(user_id=user_id, email=EMAIL, status=OrderStatus.SHIPPED,
                               tracking_carrier="DHL", tracking_number="JD0146000123")
        PaymentFactory(order=shipped)
        partly_order = OrderFactory(user_id=user_id, email=EMAIL,
                                    status=OrderStatus.PAYMENT_CONFIRMED)
        partly = PaymentFactory(order=partly_order, status=PaymentStatus.PARTIALLY_REFUNDED)
        refund(partly, 500, RefundStatus.SUCCEEDED, "r1")
        refund(partly, 300, RefundStatus.PENDING, "r2")
        refund(partly, 200, RefundStatus.FAILED, "r3")
        whole_order = OrderFactory(user_id=user_id, email=EMAIL, status=OrderStatus.CANCELLED)
        whole = PaymentFactory(order=whole_order, status=PaymentStatus.REFUNDED)
        refund(whole, whole.amount, RefundStatus.SUCCEEDED, "r4")
        numbers = shipped.number, partly_order.number, whole_order.number
        whole_total = whole.amount
        someone_elses = OrderFactory(email="other@example.com").number
        db.session.remove()

    page = signed_in_browser(app, EMAIL).get("/account/orders").get_data(as_text=True)

    shipped_row, partly_row, whole_row = (row_of(page, n) for n in numbers)
    assert "Shipped" in shipped_row and "DHL JD0146000123" in shipped_row
    assert "efund" not in shipped_row
    assert "Partially refunded: $5.00" in partly_row
    assert "Refund of $3.00 on its way" in partly_row
    assert "Cancelled" in whole_row
    assert f"Refunded: ${whole_total / 100:,.2f}" in whole_row
    assert someone_elses not in page


def test_my_orders_asks_a_signed_out_browser_to_sign_in(client):
    response = client.get("/account/orders")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
