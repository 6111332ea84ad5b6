"""The page a staff invitation links to: choose a password, then sign in to the back office."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_user

from checkout.domain.errors import InvalidPassword, InvalidResetLink
from checkout.forms.account import ResetPasswordForm
from checkout.services import staff_accounts

bp = Blueprint("invitation", __name__, url_prefix="/welcome")


@bp.route("/<token>", methods=["GET", "POST"])
def accept(token: str):
    """Choose the password of an invited staff account and sign in."""
    try:
        user = staff_accounts.user_of_invitation(token)
    except InvalidResetLink as exc:
        abort(400, f"{exc} Ask an admin for a new invitation.")
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = staff_accounts.accept_invitation(token, form.password.data)
        except InvalidPassword as exc:
            form.password.errors.append(str(exc))
        except InvalidResetLink as exc:
            abort(400, f"{exc} Ask an admin for a new invitation.")
        else:
            login_user(user)
            flash("Your password is set. Welcome to the back office.", "success")
            return redirect(url_for("staff.dashboard.index"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("staff/accounts/welcome.html", form=form, email=user.email), status
