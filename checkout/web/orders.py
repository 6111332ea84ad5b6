"""Order tracking for the shopper: owners, staff, or holders of the signed link."""

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from checkout.domain.carriers import tracking_url
from checkout.models import Order
from checkout.services import invoices, orders
from checkout.web.links import pay_link

bp = Blueprint("orders", __name__, url_prefix="/orders")


def _viewable_order(number: str) -> Order:
    """The order if the visitor may see it (owner, staff, signed link); else a 404."""
    order = orders.find_order(number)
    if order is None or not orders.may_view(order, request.args.get("t"), current_user):
        abort(404, "We could not find that order.")
    return order


@bp.get("/<number>")
def show(number: str):
    """Show an order's status timeline, lines, totals, address and tracking."""
    order = _viewable_order(number)
    return render_template(
        "orders/show.html",
        order=order,
        token=request.args.get("t"),
        pay_url=pay_link(order),
        invoice=invoices.invoice_of(order),
        tracking_url=tracking_url(order.tracking_carrier, order.tracking_number),
    )


def _invoice(number: str):
    invoice = invoices.invoice_of(_viewable_order(number))
    if invoice is None:
        abort(404, "This order has no invoice yet: one is issued when the payment is confirmed.")
    return invoice


def _credit_note(number: str, note_number: str):
    note = invoices.credit_note(_invoice(number), note_number)
    if note is None:
        abort(404, "This order has no credit note with that number.")
    return note


def _pdf(doc) -> Response:
    return Response(
        invoices.render_pdf(doc),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{doc.number}.pdf"'},
    )


@bp.get("/<number>/invoice")
def invoice(number: str):
    """Show the order's invoice as a printable page."""
    return invoices.render_html(_invoice(number))


@bp.get("/<number>/invoice.pdf")
def invoice_pdf(number: str):
    """Download the order's invoice as a PDF."""
    return _pdf(_invoice(number))


@bp.get("/<number>/credit-notes/<note_number>")
def credit_note(number: str, note_number: str):
    """Show one of the order's credit notes as a printable page."""
    return invoices.render_html(_credit_note(number, note_number))


@bp.get("/<number>/credit-notes/<note_number>.pdf")
def credit_note_pdf(number: str, note_number: str):
    """Download one of the order's credit notes as a PDF."""
    return _pdf(_credit_note(number, note_number))
