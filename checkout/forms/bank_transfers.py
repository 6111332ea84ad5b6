"""Staff recording a bank transfer: the amount read off the statement and the bank's reference."""

from wtforms import StringField
from wtforms.validators import DataRequired, Length, Regexp

from checkout.forms import ONE_LINE, ShopForm


def reference_rules(missing: str) -> list:
    """The checks on a bank reference typed off a statement (a transfer in or back)."""
    return [
        DataRequired(missing),
        Length(max=80, message="Keep the reference to 80 characters."),
        Regexp(ONE_LINE, message="Remove the control characters."),
    ]


class RecordTransferForm(ShopForm):
    # Parsed into minor units by the view with the order's currency (domain.money.parse_amount).
    amount = StringField(
        "Amount received",
        validators=[DataRequired("Enter the amount that arrived."), Length(max=20)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    reference = StringField(
        "Bank reference",
        description="The transfer's reference or transaction id on the bank statement.",
        validators=reference_rules("Enter the bank's reference for the transfer."),
        render_kw={"autocomplete": "off"},
    )
