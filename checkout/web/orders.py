"""Order tracking for the shopper: owners, staff, or holders of the signed link."""

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from checkout.services import orders
from checkout.web.links import pay_link

bp = Blueprint("orders", __name__, url_prefix="/orders")


@bp.get("/<number>")
def show(number: str):
    """Show an order's status timeline, lines, totals, address and tracking."""
    order = orders.find_order(number)
    if order is None or not orders.may_view(order, request.args.get("t"), current_user):
        abort(404, "We could not find that order.")
    return render_template(
        "orders/show.html",
        order=order,
        token=request.args.get("t"),
        pay_url=pay_link(order),
    )
