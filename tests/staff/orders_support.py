"""Orders made to measure for the staff list, and the list read back the way staff see it."""

import html
import re
from datetime import datetime

from flask.testing import FlaskClient

from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import PaymentStatus
from checkout.extensions import db
from checkout.models import OrderFlag
from checkout.models.order import FlagCode
from tests.factories import OrderFactory, PaymentFactory, ProductFactory

NUMBER = re.compile(r'<a class="order-number" href="[^"]+">([^<]+)</a>')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


def make_order(
    *,
    product=None,
    number: str | None = None,
    status: OrderStatus = OrderStatus.PENDING_PAYMENT,
    created_at: datetime | None = None,
    payment: PaymentStatus | None = None,
    refunded: int = 0,
    flag: FlagCode | None = None,
    flag_resolved_at: datetime | None = None,
    quantity: int = 1,
    **fields,
):
    """An order of `quantity` × `product`, with a payment in `payment` state and a flag if asked."""
    product = product or ProductFactory(price=1000)
    extra = {"number": number} if number else {}
    if created_at:
        extra["created_at"] = created_at
    order = OrderFactory(items=[(product, quantity)], status=status, **extra, **fields)
    if payment is not None:
        PaymentFactory(order=order, status=payment, amount_refunded=refunded)
    if flag is not None:
        db.session.add(OrderFlag(order_id=order.id, code=flag, detail="test flag",
                                 resolved_at=flag_resolved_at))
        db.session.commit()
    return order


def numbers_on(page: str) -> list[str]:
    """The order numbers a list page shows, top to bottom."""
    return NUMBER.findall(page)


def list_all(client: FlaskClient, url: str) -> tuple[list[str], int]:
    """Follow the list's next links from `url`; return every number shown and the page count."""
    seen, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        page = response.get_data(as_text=True)
        seen += numbers_on(page)
        pages += 1
        found = NEXT.search(page)
        url = html.unescape(found.group(1)) if found else None
    return seen, pages
