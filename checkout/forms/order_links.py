"""The "send me a new link" form of an expired order link."""

from wtforms import EmailField
from wtforms.validators import DataRequired, Length, Regexp

from checkout.forms import ONE_LINE, ShopForm


class NewLinkForm(ShopForm):
    email = EmailField(
        "The e-mail address you ordered with",
        validators=[
            DataRequired("Enter the e-mail address you ordered with."),
            Length(max=254, message="An e-mail address has at most 254 characters."),
            Regexp(ONE_LINE, message="Remove the control characters."),
        ],
        render_kw={"autocomplete": "email"},
    )
