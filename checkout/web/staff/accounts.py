"""Staff accounts (admin): invite, change role, deactivate and reactivate."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from checkout.domain.errors import AccountChangeRefused, InvalidPassword
from checkout.forms import EmptyForm
from checkout.forms.staff_accounts import InviteForm, RoleForm
from checkout.models.user import Role
from checkout.services import staff_accounts
from checkout.web.staff.access import admin_only

bp = Blueprint("accounts", __name__, url_prefix="/accounts")


def _page(invite: InviteForm | None = None, refusal: str | None = None, status: int = 200):
    return render_template(
        "staff/accounts/index.html", members=staff_accounts.staff_members(),
        invite=invite or InviteForm(), role_form=RoleForm(), button=EmptyForm(), refusal=refusal,
    ), status


@bp.get("/")
@admin_only
def index():
    """List the staff and admin accounts, with the invitation form."""
    return _page()


@bp.post("/")
@admin_only
def invite():
    """Make a staff account: an initial password, or an e-mailed link to choose one."""
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user = staff_accounts.invite(form.email.data, Role(form.role.data), by=current_user,
                                         password=form.password.data or None)
        except InvalidPassword as exc:
            form.password.errors.append(str(exc))
        except AccountChangeRefused as exc:
            form.email.errors.append(str(exc))
        else:
            sent = "" if form.password.data else " An invitation is on its way to them."
            flash(f"{user.email} is now {Role(user.role).value}.{sent}", "success")
            return redirect(url_for(".index"), 303)
    return _page(invite=form, status=422)


def _apply(change) -> tuple:
    try:
        user = change()
    except AccountChangeRefused as exc:
        return _page(refusal=str(exc), status=409)
    flash(f"{user.email}: {Role(user.role).value}, {'active' if user.active else 'deactivated'}.",
          "success")
    return redirect(url_for(".index"), 303)


@bp.post("/<int:user_id>/role")
@admin_only
def change_role(user_id: int):
    """Make a staff account staff or admin (never oneself, never the last admin)."""
    form = RoleForm()
    if not form.validate_on_submit():
        return _page(refusal="Choose staff or admin.", status=422)
    return _apply(lambda: staff_accounts.set_role(user_id, Role(form.role.data), by=current_user))


@bp.post("/<int:user_id>/deactivate")
@admin_only
def deactivate(user_id: int):
    """Deactivate a staff account: it cannot sign in, and its sessions stop working."""
    if not EmptyForm().validate_on_submit():
        return _page(refusal="This form is out of date: reload the page.", status=422)
    return _apply(lambda: staff_accounts.set_active(user_id, False, by=current_user))


@bp.post("/<int:user_id>/reactivate")
@admin_only
def reactivate(user_id: int):
    """Let a deactivated staff account sign in again."""
    if not EmptyForm().validate_on_submit():
        return _page(refusal="This form is out of date: reload the page.", status=422)
    return _apply(lambda: staff_accounts.set_active(user_id, True, by=current_user))
