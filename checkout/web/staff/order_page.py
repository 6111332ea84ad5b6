"""The staff order page: everything about one order, and what staff can do to it now."""

from functools import partial

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from checkout.domain.errors import ActionNotAllowed, GatewayUnavailable
from checkout.domain.fulfilment_actions import StaffAction, allowed, needs_admin
from checkout.domain.order_status import OrderStatus
from checkout.forms.staff_order import NoteForm, ShipForm
from checkout.models import Order
from checkout.services import staff_orders
from checkout.services.orders import find_order

bp = Blueprint("order", __name__, url_prefix="/orders/<number>")

PROVIDER_DOWN = (
    "The payment provider cannot be reached right now, so nothing was cancelled. "
    "Try again in a minute."
)


def _order(number: str) -> Order:
    order = find_order(number)
    if order is None:
        abort(404, f"There is no order {number}.")
    return order


def _page(number: str, status: int = 200, **forms):
    """Render the order page; `forms` replaces the blank forms with ones that failed."""
    view = staff_orders.page(number, is_admin=current_user.is_admin)
    if view is None:
        abort(404, f"There is no order {number}.")
    resolve_forms = {
        entry.flag.id: NoteForm(prefix=f"flag-{entry.flag.id}") for entry in view.open_flags
    }
    resolve_forms.update(forms.pop("resolve_forms", {}))
    return render_template(
        "staff/order/show.html",
        view=view,
        ship_form=forms.get("ship_form") or ShipForm(),
        note_form=forms.get("note_form") or NoteForm(),
        resolve_forms=resolve_forms,
    ), status


def _acting_order(number: str, action: StaffAction) -> Order:
    """The order, if its status allows `action` at all (the service checks again under lock)."""
    order = _order(number)
    status = OrderStatus(order.status)
    if not allowed(action, status):
        abort(409, f"Order {order.number} is {status.label.lower()}: "
                   f"“{action.label}” is not possible now.")
    return order


def _perform(use_case, order: Order, *args):
    """Run one staff use case on the order as the signed-in staff member; 409 if refused."""
    try:
        return use_case(order.id, *args, actor=current_user.email, user_id=current_user.id)
    except ActionNotAllowed as exc:
        abort(409, str(exc))
    except GatewayUnavailable:
        abort(503, PROVIDER_DOWN)


def _done(number: str, message: str):
    flash(message, "success")
    return redirect(url_for("staff.order.show", number=number), 303)


@bp.get("")
def show(number: str):
    """Show the order's lines, money, customer, timeline and flags, with the actions allowed."""
    return _page(number)


@bp.post("/fulfil")
def fulfil(number: str):
    """Accept a paid order for packing."""
    _perform(staff_orders.start_fulfilment, _acting_order(number, StaffAction.FULFIL))
    return _done(number, "Fulfilment started.")


@bp.post("/ship")
def ship(number: str):
    """Record the carrier and tracking number, mark the order shipped and mail the shopper."""
    order = _acting_order(number, StaffAction.SHIP)
    form = ShipForm()
    if not form.validate():
        return _page(number, 422, ship_form=form)
    _perform(staff_orders.ship, order, form.carrier.data, form.tracking_number.data)
    return _done(number, "Shipped; the shopper has been sent the tracking details.")


@bp.post("/deliver")
def deliver(number: str):
    """Record that the carrier delivered the order."""
    _perform(staff_orders.mark_delivered, _acting_order(number, StaffAction.DELIVER))
    return _done(number, "Marked delivered.")


@bp.post("/cancel")
def cancel(number: str):
    """Cancel the order: an unpaid one's session expires, a paid one is refunded in full."""
    order = _acting_order(number, StaffAction.CANCEL)
    paid = OrderStatus(order.status) != OrderStatus.PENDING_PAYMENT
    if needs_admin(StaffAction.CANCEL, OrderStatus(order.status)) and not current_user.is_admin:
        abort(403, staff_orders.PAID_CANCEL_IS_A_REFUND)
    _perform(partial(staff_orders.cancel, may_refund=current_user.is_admin), order)
    if paid:
        return _done(number, "Cancelled; the payment is being refunded in full and the stock "
                             "is back on the shelf.")
    return _done(number, "Cancelled; the payment page is closed and the held stock released.")


@bp.post("/flags/<int:flag_id>/resolve")
def resolve_flag(number: str, flag_id: int):
    """Close an open flag with a note saying what was done."""
    order = _order(number)
    form = NoteForm(prefix=f"flag-{flag_id}")
    if not form.validate():
        return _page(number, 422, resolve_forms={flag_id: form})
    if _perform(staff_orders.resolve_flag, order, flag_id, form.note.data) is None:
        abort(404, f"Order {number} has no such flag.")
    return _done(number, "Flag resolved.")


@bp.post("/notes")
def add_note(number: str):
    """Add an internal note to the timeline (never shown to the shopper)."""
    order = _order(number)
    form = NoteForm()
    if not form.validate():
        return _page(number, 422, note_form=form)
    _perform(staff_orders.add_note, order, form.note.data)
    return _done(number, "Note added.")
