"""Accounts: sign up, sign in, sign out, the shopper's orders, password and saved addresses."""

import logging
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from checkout.domain.errors import (
    InvalidPassword,
    InvalidResetLink,
    InvalidVerificationLink,
    WrongPassword,
)
from checkout.forms import EmptyForm
from checkout.forms.account import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from checkout.services import accounts, addresses
from checkout.services.accounts import (
    authenticate,
    request_password_reset,
    reset_password,
    user_of_reset_token,
)
from checkout.services.cart import adopt_guest_cart
from checkout.services.order_history import order_history
from checkout.web.shopper import CART_COOKIE
from checkout.web.waiting_orders import forget_placed_orders

log = logging.getLogger(__name__)

bp = Blueprint("account", __name__, url_prefix="/account")

REGISTERED = ("Thank you. We have sent a message to the address you gave. If your account is "
              "new, sign in below with your e-mail and the password you chose.")


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


def _orders_joined(attached: int) -> str:
    return f"{attached} earlier order{'s' if attached > 1 else ''} joined your account."


def _connect_guest_orders(user) -> None:
    attached = accounts.connect_guest_orders(user)
    if attached:
        flash(_orders_joined(attached), "success")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in, bringing the guest cart along."""
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            adopt_guest_cart(request.cookies.get(CART_COOKIE), user.id)
            _connect_guest_orders(user)
            return redirect(_safe_next(user), 303)
        form.password.errors.append("That email and password do not match an account.")
    status = 422 if request.method == "POST" else 200
    return render_template("account/login.html", form=form), status


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Create a shopper account, answering exactly the same when the address is taken."""
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            accounts.sign_up(form.email.data, form.password.data)
        except InvalidPassword as exc:
            form.password.errors.append(str(exc))
        else:
            # No sign-in here: the session cookie would tell a new account from a taken one.
            flash(REGISTERED, "success")
            return redirect(url_for("account.login"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("account/register.html", form=form), status


@bp.route("/forgot", methods=["GET", "POST"])
def forgot_password():
    """Ask for a password reset link by e-mail."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # The same answer, in the same time, whether or not the account exists: the lookup
        # and the mail are the worker's, so the request does one thing for any address.
        try:
            current_app.extensions["jobs"]["request_password_reset"](form.email.data)
        except Exception:
            log.exception("could not queue a password reset request; handling it now")
            request_password_reset(form.email.data)
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
        # The cart stays with the account; the orders this browser placed go with the person.
        forget_placed_orders()
    return redirect(url_for("catalog.index"), 303)


@bp.get("/orders")
@login_required
def orders_list():
    """List the signed-in shopper's orders with their status, tracking and refunds."""
    return render_template("account/orders.html", orders=order_history(current_user.id))


def _check_button() -> None:
    """Refuse a button's POST without a valid CSRF token (400), before it changes anything."""
    if not EmptyForm().validate():
        abort(400, "This form is out of date. Reload the page and try again.")


def _settings_page(password_form: ChangePasswordForm, status: int = 200):
    return render_template(
        "account/settings.html", password_form=password_form, form=EmptyForm()
    ), status


@bp.get("/settings")
@login_required
def settings():
    """Show the account: its e-mail and whether it is proven, the password, sign-out buttons."""
    return _settings_page(ChangePasswordForm())


@bp.post("/password")
@login_required
def change_password():
    """Change the password; every other browser signed in to the account is signed out."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current_password.data, form.password.data)
        except WrongPassword as exc:
            form.current_password.errors.append(str(exc))
        except InvalidPassword as exc:
            form.password.errors.append(str(exc))
        else:
            # This browser keeps its session, under the account's new session token.
            login_user(user)
            flash("Your password is changed. Every other browser was signed out.", "success")
            return redirect(url_for("account.settings"), 303)
    return _settings_page(form, 422)


@bp.post("/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """Sign the account out of every browser, this one included."""
    _check_button()
    accounts.sign_out_everywhere(current_user._get_current_object())
    logout_user()
    forget_placed_orders()
    flash("You are signed out everywhere.", "success")
    return redirect(url_for("account.login"), 303)


@bp.post("/verify")
@login_required
def send_verification():
    """Mail a link that proves the account's e-mail address."""
    _check_button()
    accounts.request_email_verification(current_user._get_current_object())
    flash(f"We sent a link to {current_user.email}: open it to confirm the address.", "info")
    return redirect(url_for("account.settings"), 303)


def _signed_in_user():
    return current_user._get_current_object() if current_user.is_authenticated else None


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify_email(token: str):
    """Confirm the e-mail address through the mailed link; its guest orders join the account.

    Works signed out too (the link proves the mailbox, and signs nobody in); signed in to
    another account it is refused, so nothing joins the wrong one.
    """
    try:
        user = accounts.user_of_verification_token(token, _signed_in_user())
        if request.method == "GET":
            return render_template("account/verify.html", email=user.email, form=EmptyForm())
        _check_button()
        attached = accounts.verify_email(token, _signed_in_user())
    except InvalidVerificationLink as exc:
        abort(400, f"{exc} Ask for a new one from your account page.")
    joined = f" {_orders_joined(attached)}" if attached else ""
    flash(f"Your e-mail address is confirmed.{joined}", "success")
    if current_user.is_authenticated:
        return redirect(url_for("account.orders"), 303)
    return redirect(url_for("account.login", next=url_for("account.orders")), 303)


@bp.get("/addresses")
@login_required
def addresses_list():
    """List the shopper's saved shipping addresses, each with a delete button."""
    return render_template(
        "account/addresses.html", addresses=addresses.addresses_of(current_user.id),
        form=EmptyForm(),
    )


@bp.post("/addresses/<int:address_id>/delete")
@login_required
def delete_address(address_id: int):
    """Delete one of the shopper's saved addresses; another shopper's is a 404."""
    _check_button()
    if not addresses.forget(current_user.id, address_id):
        abort(404, "We could not find that address.")
    flash("The address is deleted.", "success")
    return redirect(url_for("account.addresses_list"), 303)


bp.add_url_rule("/", endpoint="orders", view_func=orders_list)
