"""Remind a shopper of their orders waiting for payment on the cart, checkout and catalog pages."""

from dataclasses import dataclass

from flask import Flask, g, session, url_for

from checkout.services import bank_transfers
from checkout.services import waiting_orders as waiting
from checkout.services.orders import access_token
from checkout.web.links import payment_page_url
from checkout.web.shopper import user_id

# The session key of the numbers of the orders this browser placed.
PLACED_ORDERS = "placed_orders"


@dataclass(frozen=True)
class Reminder:
    """An order waiting for payment as the pages show it, with where its buttons go."""

    number: str
    total: int
    currency: str
    by_bank_transfer: bool
    # The payment page: GET shows the order, POST resumes payment (reuses or renews the session).
    pay_url: str
    cancel_url: str
    held: dict[int, int]


def placed_here() -> list[str]:
    """The numbers of the orders this browser placed (the session keeps the last twenty)."""
    numbers = session.get(PLACED_ORDERS, [])
    return numbers if isinstance(numbers, list) else []


def forget_placed_orders() -> None:
    """Drop this browser's list of orders at sign-out: the next person is not shown them."""
    session.pop(PLACED_ORDERS, None)


def waiting_for_payment() -> list[Reminder]:
    """This browser's and this account's orders waiting for payment: one query per request."""
    if "waiting_orders" not in g:
        g.waiting_orders = [
            Reminder(
                number=w.order.number,
                total=w.order.total,
                currency=w.order.currency,
                by_bank_transfer=bank_transfers.is_bank_transfer(w.order),
                pay_url=payment_page_url(w.order),
                cancel_url=url_for("checkout.cancel", number=w.order.number,
                                   t=access_token(w.order)),
                held=w.held,
            )
            for w in waiting.waiting_orders(placed_here(), user_id())
        ]
    return g.waiting_orders


def held_for_you(product_id: int) -> Reminder | None:
    """The shopper's order waiting for payment that holds units of this product, if any."""
    return next((r for r in waiting_for_payment() if product_id in r.held), None)


def init_waiting_orders(app: Flask) -> None:
    """Let templates ask for the reminders; nothing is queried until one does. Globals, not a
    context processor: imported macros (the availability badge) see them too."""
    app.add_template_global(waiting_for_payment, "waiting_orders")
    app.add_template_global(held_for_you, "held_for_you")
