"""Discount codes (admin): create, edit, deactivate, and see each code's uses."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from checkout.domain.money import major_units
from checkout.forms import EmptyForm
from checkout.forms.discounts import DiscountForm
from checkout.models import DiscountCode
from checkout.services import discounts
from checkout.web.routing import number_arg
from checkout.web.staff.access import admin_only
from checkout.web.staff.pages import form_page

bp = Blueprint("discounts", __name__, url_prefix="/discounts")


def _code_or_404(code_id: int) -> DiscountCode:
    row = discounts.code_by_id(code_id)
    if row is None:
        abort(404, "There is no such discount code.")
    return row


def _save(form: DiscountForm, save) -> bool:
    """Run a save with the form's terms; put the service's refusal on the form."""
    terms = form.terms()
    if terms is None:
        return False
    try:
        save(terms)
    except ValueError as exc:
        form.form_errors.append(f"The code was not saved: {exc}.")
        return False
    return True


@bp.get("/")
@admin_only
def index():
    """List every discount code with its uses."""
    return render_template("staff/discounts/index.html", codes=discounts.codes(), form=EmptyForm())


@bp.route("/new", methods=["GET", "POST"])
@admin_only
def new():
    """Create a discount code."""
    form = DiscountForm()
    return form_page(
        form, lambda: _save(form, discounts.create),
        done=lambda: f"Discount code {discounts.normalize(form.code.data)} created.",
        then=url_for(".index"), template="staff/discounts/form.html", code=None,
    )


@bp.route("/<int:code_id>", methods=["GET", "POST"])
@admin_only
def edit(code_id: int):
    """Change a code's terms and see the orders that used it."""
    row = _code_or_404(code_id)
    form = DiscountForm()
    if request.method == "GET":
        _fill(form, row)
    before = number_arg("before")
    if before is None and "before" in request.args:
        abort(400, "That page of the code's uses does not exist: open the code again.")
    uses, older = discounts.redemptions(row.id, before=before)
    return form_page(
        form, lambda: _save(form, lambda terms: discounts.edit(row.id, terms)),
        done=lambda: f"Discount code {row.code} saved.", then=url_for(".edit", code_id=row.id),
        template="staff/discounts/form.html", code=row, redemptions=uses, older=older,
        paged=before is not None,
    )


def _fill(form: DiscountForm, row: DiscountCode) -> None:
    currency = current_app.config["STORE_CURRENCY"]

    def money(amount: int | None) -> str:
        return "" if amount is None else major_units(amount, currency)

    form.code.data = row.code
    form.kind.data = "percent" if row.percent_off is not None else "amount"
    form.percent_off.data = row.percent_off or ""
    form.amount_off.data = money(row.amount_off)
    form.cap.data = money(row.cap)
    form.min_subtotal.data = money(row.min_subtotal) if row.min_subtotal else ""
    form.valid_from.data = row.valid_from and row.valid_from.replace(tzinfo=None)
    form.valid_until.data = row.valid_until and row.valid_until.replace(tzinfo=None)
    form.max_uses.data = row.max_uses
    form.max_uses_per_customer.data = row.max_uses_per_customer


@bp.post("/<int:code_id>/deactivate")
@admin_only
def deactivate(code_id: int):
    """Stop a code from being applied; orders placed with it keep their price."""
    row = _code_or_404(code_id)
    if EmptyForm().validate_on_submit():
        discounts.deactivate(row.code)
        flash(f"Discount code {row.code} deactivated.", "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:code_id>/reactivate")
@admin_only
def reactivate(code_id: int):
    """Let a deactivated code be applied again."""
    row = _code_or_404(code_id)
    if EmptyForm().validate_on_submit():
        discounts.reactivate(row.id)
        flash(f"Discount code {row.code} is active again.", "success")
    return redirect(url_for(".index"), 303)
