"""Accounts: sign up, sign in, sign out, and the shopper's orders."""

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from checkout.domain.errors import InvalidPassword, InvalidResetLink
from checkout.forms import EmptyForm
from checkout.forms.account import (
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from checkout.services import orders
from checkout.services.accounts import (
    authenticate,
    register_shopper,
    request_password_reset,
    reset_password,
    user_of_reset_token,
)
from checkout.services.cart import adopt_guest_cart
from checkout.web.shopper import CART_COOKIE

bp = Blueprint("account", __name__, url_prefix="/account")


def _safe_next(user) -> str:
    """Where to go after signing in: `next` if it is a path on this site, else the user's home."""
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if (
        target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and not parts.scheme
        and not parts.netloc
        # Browsers drop tabs and newlines, so "/\t/evil.example" would leave the site.
        and all(ord(c) > 32 for c in target)
    ):
        return target
    return url_for("staff.dashboard.index" if user.is_staff else "account.orders")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in, bringing the guest cart along."""
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            adopt_guest_cart(request.cookies.get(CART_COOKIE), user.id)
            return redirect(_safe_next(user), 303)
        form.password.errors.append("That email and password do not match an account.")
    status = 422 if request.method == "POST" else 200
    return render_template("account/login.html", form=form), status


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Create a shopper account and sign in."""
    form = RegisterForm()
    if form.validate_on_submit():
        user = register_shopper(form.email.data, form.password.data)
        if user is None:
            form.email.errors.append("An account with this email already exists. Sign in instead.")
        else:
            login_user(user)
            adopt_guest_cart(request.cookies.get(CART_COOKIE), user.id)
            flash("Welcome! Your account is ready.", "success")
            return redirect(url_for("account.orders"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("account/register.html", form=form), status


@bp.route("/forgot", methods=["GET", "POST"])
def forgot_password():
    """Ask for a password reset link by e-mail."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data)
        # The same answer whether or not the account exists: the form tells nobody who has one.
        return render_template("account/forgot_sent.html", email=form.email.data)
    status = 422 if request.method == "POST" else 200
    return render_template("account/forgot.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"], endpoint="reset_password")
def reset_password_form(token: str):
    """Choose a new password through the link from the reset e-mail."""
    try:
        user_of_reset_token(token)
    except InvalidResetLink as exc:
        abort(400, f"{exc} Ask for a new one from the sign-in page.")
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = reset_password(token, form.password.data)
        except InvalidPassword as exc:
            form.password.errors.append(str(exc))
        except InvalidResetLink as exc:
            abort(400, f"{exc} Ask for a new one from the sign-in page.")
        else:
            login_user(user)
            flash("Your password is changed and you are signed in.", "success")
            return redirect(url_for("account.orders"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("account/reset.html", form=form), status


@bp.post("/logout")
def logout():
    """Sign out."""
    if EmptyForm().validate():
        logout_user()
    return redirect(url_for("catalog.index"), 303)


@bp.get("/orders")
@login_required
def orders_list():
    """List the signed-in shopper's orders."""
    return render_template("account/orders.html", orders=orders.orders_of(current_user.id))


bp.add_url_rule("/", endpoint="orders", view_func=orders_list)
