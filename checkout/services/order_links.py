"""A fresh order link for a buyer whose link expired, mailed to the order's own address."""

import hmac
from datetime import datetime

from checkout.db import now_utc
from checkout.extensions import db
from checkout.services import notifications
from checkout.services.orders import access_token, find_order

# At most one new link per order in this many seconds, however often the form is sent.
RESEND_WINDOW_SECONDS = 10 * 60


def send_new_link(number: str, email: str, now: datetime | None = None) -> bool:
    """Mail a new link for the order if `email` is its address; say whether it was.

    The form runs this as a job, never in the request, and answers the same either way: the
    outbox row and its commit made a matching address slower (and busier) than a wrong one,
    which told who ordered what. The message is keyed by the order and a ten-minute window:
    a repeated form sends one mail a window, never one per click.
    """
    order = find_order(number)
    if order is None or not hmac.compare_digest(
        order.email.strip().casefold().encode(), email.strip().casefold().encode()
    ):
        db.session.rollback()
        return False
    window = int((now or now_utc()).timestamp()) // RESEND_WINDOW_SECONDS
    notifications.enqueue(
        f"order-link:{order.number}:{window}",
        "order_link",
        order.email,
        {
            "order_number": order.number,
            "access_token": access_token(order),
            "customer_name": order.ship_name,
        },
    )
    db.session.commit()
    return True
