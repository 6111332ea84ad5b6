"""Expired order links: a page that says so, and a form that mails a fresh link.

`request_new_link` is the endpoint to rate-limit (it sends mail on a stranger's say-so,
though only to the order's own address and once per ten minutes per order).
"""

import logging

from flask import Blueprint, Response, abort, current_app, make_response, render_template

from checkout.forms.order_links import NewLinkForm
from checkout.models import Order
from checkout.services import order_links, orders

log = logging.getLogger(__name__)
bp = Blueprint("order_links", __name__, url_prefix="/orders")
NUMBER_MAX_LENGTH = 40


def expired_link_page(number: str, form: NewLinkForm | None = None, status: int = 410) -> Response:
    """The page an expired order link opens: what happened, and the new-link form."""
    return make_response(render_template(
        "orders/links/expired.html", number=number, form=form or NewLinkForm(formdata=None),
    ), status)


def refuse_expired_link(order: Order, token: str | None) -> None:
    """Answer with the expired-link page if `token` is the order's link, only too old."""
    if orders.link_expired(order, token):
        abort(expired_link_page(order.number))


@bp.route("/<number>/new-link", methods=["GET", "POST"])
def request_new_link(number: str):
    """Mail a fresh order link to the order's address; answer the same whoever asks."""
    if len(number) > NUMBER_MAX_LENGTH:
        abort(404, "We could not find that order.")
    form = NewLinkForm()
    if not form.is_submitted():
        return expired_link_page(number, form, 200)
    if not form.validate():
        return expired_link_page(number, form, 422)
    # The lookup and the mail are the worker's, so the request does the same work for any
    # order number and address.
    try:
        current_app.extensions["jobs"]["request_order_link"](number, form.email.data)
    except Exception:
        log.exception("could not queue a new order link request; handling it now")
        order_links.send_new_link(number, form.email.data)
    return render_template("orders/links/sent.html", number=number)
