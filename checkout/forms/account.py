"""Sign-in and sign-up forms."""

from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp

from checkout.forms import ONE_LINE, NoCardNumber, ShopForm
from checkout.models.user import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


def account_email_field(autocomplete: str) -> EmailField:
    """The e-mail of an existing account, as typed to sign in or ask for a reset link."""
    return EmailField(
        "Email",
        validators=[
            DataRequired("Enter your email address."),
            Length(max=254),
            Regexp(ONE_LINE, message="Remove the control characters."),
        ],
        render_kw={"autocomplete": autocomplete},
    )


class LoginForm(ShopForm):
    email = account_email_field("username")
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )


def new_password_field(label: str) -> PasswordField:
    """A new password, held to the account's length rule."""
    return PasswordField(
        label,
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
        validators=[
            DataRequired("Choose a password."),
            Length(
                MIN_PASSWORD_LENGTH,
                MAX_PASSWORD_LENGTH,
                f"Use between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} characters.",
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )


def repeat_password_field(label: str) -> PasswordField:
    """The new password typed again, which must match."""
    return PasswordField(
        label,
        validators=[EqualTo("password", "The passwords do not match.")],
        render_kw={"autocomplete": "new-password"},
    )


class RegisterForm(ShopForm):
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter your email address."),
            Length(max=254),
            Email("Enter an email address like name@example.com.", check_deliverability=False),
            NoCardNumber(),
        ],
        render_kw={"autocomplete": "email"},
    )
    password = new_password_field("Password")
    confirm = repeat_password_field("Repeat password")


class ForgotPasswordForm(ShopForm):
    email = account_email_field("email")


class ResetPasswordForm(ShopForm):
    password = new_password_field("New password")
    confirm = repeat_password_field("Repeat new password")


class ChangePasswordForm(ShopForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."),
                    Length(max=MAX_PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    password = new_password_field("New password")
    confirm = repeat_password_field("Repeat new password")
