"""Refunds in the back office: an admin's refund of an order, and the shoppers' requests."""

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from checkout.domain.errors import RefundNotAllowed, RefundRequestRefused, RequestAlreadyDecided
from checkout.domain.money import MoneyError, format_money, parse_amount
from checkout.domain.payment_status import RefundStatus
from checkout.forms.refunds import (
    ApproveRequestForm,
    MarkSentByBankForm,
    RejectRequestForm,
    StaffRefundForm,
    line_quantities,
    major_units,
)
from checkout.models import Refund
from checkout.models.payment import RefundReason
from checkout.services import order_refunds, orders, refund_requests, refunds
from checkout.web.staff.access import admin_only

bp = Blueprint("refunds", __name__)


def _order(number: str):
    order = orders.find_order(number)
    if order is None:
        abort(404, "There is no order with that number.")
    return order


def _refund_page(order, form: StaffRefundForm, status: int = 200, problem: str | None = None,
                 posted: tuple[int, MarkSentByBankForm] | None = None):
    """The refund page; `posted` is a refund id and its mark-sent form, with its errors."""
    state = order_refunds.refund_state(order)
    sent_forms = {
        refund.id: MarkSentByBankForm(formdata=None, prefix=f"sent-{refund.id}")
        for refund in state.bank_refunds_to_send
    }
    if posted is not None:
        sent_forms[posted[0]] = posted[1]
    lines = order_refunds.refundable_lines(order)
    return render_template(
        "staff/refunds/new.html", order=order, form=form, problem=problem, state=state,
        lines=lines, sent_forms=sent_forms, units_anchor=_units_anchor(lines),
    ), status


def _units_anchor(lines) -> str:
    """Where the summary links a refusal of the units asked for: the first line typed in."""
    open_lines = [line for line in lines if line.quantity_left]
    typed = [line for line in open_lines
             if (request.form.get(f"line-{line.line_id}") or "").strip()]
    chosen = (typed or open_lines)[:1]
    return f"line-{chosen[0].line_id}" if chosen else "mode-0"


def _new_refund_form(order) -> StaffRefundForm:
    """A fresh refund form with its one-time token, prefilled with what is left."""
    form = StaffRefundForm(formdata=None)
    form.refund_token.data = secrets.token_urlsafe(24)
    form.amount.data = major_units(order_refunds.refund_state(order).left, order.currency)
    return form


@bp.route("/orders/<number>/refund", methods=["GET", "POST"])
@admin_only
def new(number: str):
    """Refund an order by amount or by lines, with a reason and optional restock."""
    order = _order(number)
    form = StaffRefundForm()
    if request.method == "GET":
        form.refund_token.data = secrets.token_urlsafe(24)
        form.amount.data = major_units(order_refunds.refund_state(order).left, order.currency)
        return _refund_page(order, form)
    if not form.validate():
        return _refund_page(order, form, 422)
    amount = quantities = None
    try:
        if form.mode.data == "amount":
            amount = parse_amount(form.amount.data, order.currency)
        else:
            quantities = line_quantities(request.form, [line.id for line in order.lines])
    except MoneyError as exc:
        form.amount.errors = [str(exc)]
        return _refund_page(order, form, 422)
    except ValueError as exc:
        form.mode.errors = [str(exc)]
        return _refund_page(order, form, 422)
    try:
        refund = order_refunds.refund_order(
            number, amount=amount, quantities=quantities, reason=RefundReason(form.reason.data),
            note=(form.note.data or "").strip(), restock=form.restock.data,
            key=f"staff-refund-{order.number}-{form.refund_token.data}", actor=current_user.email,
            user_id=current_user.id,
        )
    except RefundNotAllowed as exc:
        # What to change is the amount or the units: said beside them, linked from the summary.
        if form.mode.data == "amount":
            form.amount.errors = [str(exc)]
        else:
            form.mode.errors = [str(exc)]
        return _refund_page(_order(number), form, 409)
    amount = format_money(refund.amount, refund.currency)
    if refund.id in order_refunds.refund_state(_order(number)).by_bank:
        flash(f"Refund of {amount} recorded, to send by bank transfer: send it from the shop's "
              "bank account, then mark it sent below with the transfer's reference.", "success")
    else:
        flash(_refund_news(refund), "error" if refund.status == RefundStatus.FAILED else "success")
    return redirect(url_for("staff.refunds.new", number=number), 303)


@bp.post("/orders/<number>/refunds/<int:refund_id>/sent")
@admin_only
def mark_sent(number: str, refund_id: int):
    """Record that a bank-transfer refund was sent back from the shop's bank, with its reference."""
    order = _order(number)
    if refund_id not in {r.id for r in order_refunds.refund_state(order).refunds}:
        abort(404, "This order has no such refund.")
    form = MarkSentByBankForm(prefix=f"sent-{refund_id}")
    if not form.validate():
        return _refund_page(order, _new_refund_form(order), 422, posted=(refund_id, form))
    try:
        refund = refunds.mark_sent_by_bank(
            order, refund_id, form.reference.data.strip(), actor=current_user.email,
            user_id=current_user.id,
        )
    except RefundNotAllowed as exc:
        order = _order(number)
        return _refund_page(order, _new_refund_form(order), 409, problem=str(exc))
    if refund is None:
        abort(404, "This order has no such refund.")
    flash(f"Refund of {format_money(refund.amount, refund.currency)} recorded as sent by bank "
          "transfer; the shopper is told.", "success")
    return redirect(url_for("staff.refunds.new", number=number), 303)


def _refund_news(refund: Refund) -> str:
    """What became of a refund just asked for, in words."""
    amount = format_money(refund.amount, refund.currency)
    if refund.status == RefundStatus.SUCCEEDED:
        return f"Refunded {amount}."
    if refund.status == RefundStatus.FAILED:
        return f"The refund of {amount} failed: {refund.failure_reason or 'Stripe refused it'}."
    return f"Refund of {amount} sent; it shows as refunded once Stripe confirms it."


def _prefix(kind: str, request_id: int) -> str:
    """Field names per request and action, so every form on the queue page is its own."""
    return f"{kind}-{request_id}"


def _queue_page(status: int = 200, problem: str | None = None, posted=None):
    """The queue, each open request with its approve and reject forms (`posted`: one sent)."""
    items = refund_requests.queue()
    forms = {}
    for item in items:
        forms[item.request.id] = (
            ApproveRequestForm(formdata=None, prefix=_prefix("approve", item.request.id)),
            RejectRequestForm(formdata=None, prefix=_prefix("reject", item.request.id)),
        )
    if posted is not None:
        request_id, form = posted
        approve_form, reject_form = forms.get(request_id, (None, None))
        forms[request_id] = (
            (form, reject_form) if isinstance(form, ApproveRequestForm) else (approve_form, form)
        )
    return render_template(
        "staff/refunds/requests.html", items=items, problem=problem, forms=forms
    ), status


@bp.get("/refund-requests")
def requests():
    """List the shoppers' refund requests: open ones first."""
    return _queue_page()


def _request_or_404(request_id: int):
    found = refund_requests.find_request(request_id)
    if found is None:
        abort(404, "There is no such refund request.")
    return found


@bp.post("/refund-requests/<int:request_id>/approve")
@admin_only
def approve(request_id: int):
    """Approve a refund request: the refund is issued at once."""
    _request_or_404(request_id)
    form = ApproveRequestForm(prefix=_prefix("approve", request_id))
    if not form.validate():
        return _queue_page(422, posted=(request_id, form))
    try:
        refund = refund_requests.approve_request(
            request_id, restock=form.restock.data, note=(form.note.data or "").strip(),
            actor=current_user.email, user_id=current_user.id,
        )
    except (RequestAlreadyDecided, RefundNotAllowed) as exc:
        return _queue_page(409, problem=str(exc))
    flash(f"Request approved: refund of {format_money(refund.amount, refund.currency)} is "
          f"{refund.status}.", "success")
    return redirect(url_for("staff.refunds.requests"), 303)


@bp.post("/refund-requests/<int:request_id>/reject")
@admin_only
def reject(request_id: int):
    """Reject a refund request with a reason the shopper sees."""
    _request_or_404(request_id)
    form = RejectRequestForm(prefix=_prefix("reject", request_id))
    if not form.validate():
        return _queue_page(422, posted=(request_id, form))
    try:
        refund_requests.reject_request(
            request_id, note=form.note.data, actor=current_user.email, user_id=current_user.id
        )
    except (RequestAlreadyDecided, RefundRequestRefused) as exc:
        return _queue_page(409, problem=str(exc))
    flash("Request declined; the shopper sees your reason.", "success")
    return redirect(url_for("staff.refunds.requests"), 303)
