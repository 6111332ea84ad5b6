"""Order tracking for the shopper: owners, staff, or holders of the signed link."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from checkout.domain.carriers import tracking_url
from checkout.domain.errors import RefundRequestRefused
from checkout.forms.refunds import RefundRequestForm, line_quantities
from checkout.models import Order
from checkout.services import invoices, order_refunds, orders, refund_requests
from checkout.web.links import pay_link
from checkout.web.order_links import refuse_expired_link
from checkout.web.security_headers import csp_nonce

bp = Blueprint("orders", __name__, url_prefix="/orders")


def viewable_order(number: str) -> Order:
    """The order if the visitor may see it (owner, staff, signed link); else a 404."""
    order = orders.find_order(number)
    if order is None or not orders.may_view(order, request.args.get("t"), current_user):
        if order is not None:
            refuse_expired_link(order, request.args.get("t"))
        abort(404, "We could not find that order.")
    return order


def _order_page(order: Order, form: RefundRequestForm, status: int = 200,
                problem: str | None = None):
    return render_template(
        "orders/show.html",
        order=order,
        token=request.args.get("t"),
        pay_url=pay_link(order),
        invoice=invoices.invoice_of(order),
        refund_form=form,
        refund_problem=problem,
        refund_requests=refund_requests.requests_of(order),
        may_request_refund=refund_requests.may_request(order),
        refundable_lines=order_refunds.refundable_lines(order),
        tracking_url=tracking_url(order.tracking_carrier, order.tracking_number),
    ), status


@bp.get("/<number>")
def show(number: str):
    """Show an order's status timeline, lines, totals, address, tracking and refunds."""
    return _order_page(viewable_order(number), RefundRequestForm(formdata=None))


@bp.post("/<number>/refund-request")
def request_refund(number: str):
    """Ask for a refund of some units of a paid order (owner or signed link)."""
    order = viewable_order(number)
    form = RefundRequestForm()
    if not form.validate():
        return _order_page(order, form, 422)
    try:
        quantities = line_quantities(request.form, [line.id for line in order.lines])
        refund_requests.create_request(
            order, quantities, form.reason.data.strip(),
            actor=current_user.email if current_user.is_authenticated else order.email,
            user_id=current_user.id if current_user.is_authenticated else None,
        )
    except (ValueError, RefundRequestRefused) as exc:
        return _order_page(orders.find_order(number), form, 422, problem=str(exc))
    flash("We have your refund request and will answer it soon.", "success")
    return redirect(url_for("orders.show", number=number, t=request.args.get("t")), 303)


def _invoice(number: str):
    invoice = invoices.invoice_of(viewable_order(number))
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
    return invoices.render_html(_invoice(number), style_nonce=csp_nonce())


@bp.get("/<number>/invoice.pdf")
def invoice_pdf(number: str):
    """Download the order's invoice as a PDF."""
    return _pdf(_invoice(number))


@bp.get("/<number>/credit-notes/<note_number>")
def credit_note(number: str, note_number: str):
    """Show one of the order's credit notes as a printable page."""
    return invoices.render_html(_credit_note(number, note_number), style_nonce=csp_nonce())


@bp.get("/<number>/credit-notes/<note_number>.pdf")
def credit_note_pdf(number: str, note_number: str):
    """Download one of the order's credit notes as a PDF."""
    return _pdf(_credit_note(number, note_number))
