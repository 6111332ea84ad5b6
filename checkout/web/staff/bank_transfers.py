"""Orders waiting for a bank transfer, and recording the money when it lands."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from checkout.domain.errors import TransferRefused
from checkout.domain.money import MoneyError, parse_amount
from checkout.domain.order_status import OrderStatus
from checkout.forms.bank_transfers import RecordTransferForm
from checkout.services import bank_transfers, orders

bp = Blueprint("bank_transfers", __name__, url_prefix="/bank-transfers")


def _form(number: str, **kwargs) -> RecordTransferForm:
    # One form per order on the page: the prefix keeps their fields apart.
    return RecordTransferForm(prefix=number, **kwargs)


def _page(status: int = 200, *, number: str | None = None, form=None, problem: str = ""):
    """The queue of orders awaiting a transfer; `form` is the one just posted for `number`."""
    waiting = bank_transfers.awaiting()
    forms = {w.order.number: _form(w.order.number, formdata=None) for w in waiting}
    if number in forms and form is not None:
        forms[number] = form
    return (
        render_template(
            "staff/bank_transfers/index.html",
            waiting=waiting,
            forms=forms,
            posted=number,
            problem=problem,
            account=bank_transfers.bank_account() if bank_transfers.enabled() else None,
        ),
        status,
    )


@bp.get("/")
def index():
    """List the orders awaiting a bank transfer, each with a form to record it."""
    return _page()


@bp.post("/<number>")
def record(number: str):
    """Record a transfer for an order: only the exact total marks it paid."""
    order = orders.find_order(number)
    if order is None:
        abort(404, "There is no such order.")
    form = _form(number)
    if not form.validate():
        return _page(422, number=number, form=form)
    try:
        amount = parse_amount(form.amount.data, order.currency)
    except MoneyError as exc:
        form.amount.errors = [str(exc)]
        return _page(422, number=number, form=form)
    try:
        bank_transfers.record_transfer(
            number, amount, form.reference.data.strip(),
            actor=current_user.email, user_id=current_user.id,
        )
    except TransferRefused as exc:
        if amount != order.total and order.status == OrderStatus.PENDING_PAYMENT:
            # The order is still waiting and the amount is what to change: said beside it.
            form.amount.errors = [str(exc)]
            return _page(409, number=number, form=form)
        return _page(409, number=number, form=form, problem=str(exc))
    flash(f"Bank transfer recorded: order {number} is paid.", "success")
    return redirect(url_for("staff.bank_transfers.index"), 303)
