"""Admin forms for staff accounts."""

from wtforms import EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired, Email, Length, Optional

from checkout.forms import ShopForm
from checkout.models.user import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, Role

ROLE_CHOICES = [(Role.STAFF.value, "Staff: orders, fulfilment, notes"),
                (Role.ADMIN.value, "Admin: also refunds, products, discounts, staff accounts")]


class InviteForm(ShopForm):
    email = EmailField("E-mail", validators=[
        DataRequired("Enter their e-mail address."), Length(max=254),
        Email("Enter an e-mail address like name@example.com.", check_deliverability=False),
    ])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.STAFF.value)
    password = PasswordField(
        "Initial password",
        description="Leave empty to e-mail them a link to choose their own (what a shop "
                    "usually does).",
        validators=[Optional(), Length(
            MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH,
            f"Use between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} characters.",
        )],
        render_kw={"autocomplete": "new-password"},
    )


class RoleForm(ShopForm):
    role = SelectField("Role", choices=ROLE_CHOICES,
                       validators=[DataRequired("Choose a role.")])
