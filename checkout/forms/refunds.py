"""Refund forms: staff's refund of an order, a shopper's request, staff's answer to it.

Units per order line come as fields named `line-<order line id>`; `line_quantities` reads
them for whichever form carries them.
"""

from collections.abc import Iterable, Mapping

from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from checkout.domain.money import exponent
from checkout.domain.pricing import MAX_QUANTITY_PER_LINE
from checkout.forms import FORM_TOKEN, TEXT, NoCardNumber, ShopForm
from checkout.forms.bank_transfers import reference_rules
from checkout.services.order_refunds import STAFF_REASONS, reason_label

_PRINTABLE = Regexp(TEXT, message="Remove the control characters.")


def major_units(amount: int, currency: str) -> str:
    """Minor units as typed in an amount field: 4800 USD → "48.00", 1500 JPY → "1500"."""
    digits = exponent(currency)
    whole, minor = divmod(amount, 10**digits)
    return f"{whole}.{minor:0{digits}d}" if digits else str(whole)


def line_quantities(formdata: Mapping[str, str], line_ids: Iterable[int]) -> dict[int, int]:
    """Units asked for per order line (blank is none); ValueError saying which is wrong."""
    quantities = {}
    for line_id in line_ids:
        raw = (formdata.get(f"line-{line_id}") or "").strip()
        if not raw:
            continue
        if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_QUANTITY_PER_LINE:
            raise ValueError("Enter each quantity as a whole number of units, like 1.")
        quantities[line_id] = int(raw)
    return quantities


_OUT_OF_DATE = "This form is out of date: open the refund page again."


class StaffRefundForm(ShopForm):
    # One per rendering of the form: sending it twice makes one refund.
    refund_token = HiddenField(validators=[
        DataRequired(_OUT_OF_DATE), Regexp(FORM_TOKEN, message=_OUT_OF_DATE)
    ])
    mode = RadioField(
        "Refund", choices=[("amount", "An amount"), ("lines", "Some lines")], default="amount",
        validators=[DataRequired("Choose an amount or some lines.")],
    )
    amount = StringField(
        "Amount", description="Prefilled with what is left to refund.",
        validators=[Length(max=20)],
    )
    reason = SelectField(
        "Reason", choices=[("", "Choose a reason…")]
        + [(str(r), reason_label(r)) for r in STAFF_REASONS],
        validators=[DataRequired("Choose a reason.")],
    )
    note = TextAreaField(
        "Details", description="Required for “other”; kept on the order's timeline.",
        validators=[Length(max=500), _PRINTABLE],
    )
    restock = BooleanField("Put the refunded units back in stock")

    def validate_note(self, field) -> None:
        if self.reason.data == "other" and not (field.data or "").strip():
            raise ValidationError("Say why, for a refund for another reason.")

    def validate_amount(self, field) -> None:
        if self.mode.data == "amount" and not (field.data or "").strip():
            raise ValidationError("Enter the amount to refund.")


class RefundRequestForm(ShopForm):
    reason = TextAreaField(
        "Why do you want a refund?",
        validators=[DataRequired("Tell us why you want a refund."), Length(max=1000),
                    _PRINTABLE, NoCardNumber()],
    )


class ApproveRequestForm(ShopForm):
    restock = BooleanField("Put the units back in stock")
    note = StringField("Note to the shopper (optional)",
                       validators=[Optional(), Length(max=500), _PRINTABLE])


class RejectRequestForm(ShopForm):
    note = TextAreaField(
        "Reason the shopper sees",
        validators=[DataRequired("Say why: the shopper sees this reason."), Length(max=500),
                    _PRINTABLE],
    )


class MarkSentByBankForm(ShopForm):
    reference = StringField(
        "Bank reference of the transfer back",
        description="The outgoing transfer's reference on the shop's bank statement.",
        validators=reference_rules("Enter the bank's reference for the transfer back."),
        render_kw={"autocomplete": "off"},
    )
