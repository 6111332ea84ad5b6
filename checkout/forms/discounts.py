"""Admin form for discount codes: amounts typed in major units, the rules are the service's."""

from datetime import UTC
from decimal import Decimal, InvalidOperation

from flask import current_app
from wtforms import DateTimeLocalField, IntegerField, RadioField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from checkout.domain.money import MoneyError, parse_amount
from checkout.forms import ShopForm
from checkout.services.discounts import DiscountTerms

_AT_MOST = NumberRange(max=1_000_000_000, message="Enter at most 1,000,000,000 uses.")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class DiscountForm(ShopForm):
    code = StringField("Code", filters=[_strip], validators=[
        DataRequired("Enter a code."), Length(max=40, message="A code is at most 40 characters."),
    ])
    kind = RadioField("Kind", default="percent", choices=[
        ("percent", "A percentage off the items"), ("amount", "An amount off the items"),
    ])
    percent_off = StringField("Percentage", filters=[_strip], description="e.g. 10 or 12.5")
    amount_off = StringField("Amount off", filters=[_strip], description="e.g. 5.00")
    cap = StringField("Most a percentage takes off", filters=[_strip],
                      description="Optional, e.g. 20.00")
    min_subtotal = StringField("Minimum items' subtotal", filters=[_strip],
                               description="Optional, e.g. 50.00")
    valid_from = DateTimeLocalField("Valid from (UTC)", validators=[Optional()])
    valid_until = DateTimeLocalField("Valid until (UTC)", validators=[Optional()])
    # Only an upper bound here: "at least 1" is the service's rule, in the service's words.
    max_uses = IntegerField("Uses in all", validators=[Optional(), _AT_MOST],
                            description="Empty: unlimited.")
    max_uses_per_customer = IntegerField("Uses per e-mail address",
                                         validators=[Optional(), _AT_MOST])

    def _money(self, field) -> int | None:
        if not field.data:
            return None
        try:
            return parse_amount(field.data, current_app.config["STORE_CURRENCY"])
        except MoneyError as exc:
            field.errors.append(str(exc))
            raise ValidationError(str(exc)) from None

    def terms(self) -> DiscountTerms | None:
        """The terms typed, or None with the errors on their fields (a number that is not one)."""
        try:
            percent = None
            if self.kind.data == "percent":
                try:
                    percent = Decimal(self.percent_off.data or "")
                except InvalidOperation:
                    self.percent_off.errors.append("Enter a percentage like 10 or 12.5.")
                    return None
                if not percent.is_finite():
                    self.percent_off.errors.append("Enter a percentage like 10 or 12.5.")
                    return None
            amount = self._money(self.amount_off) if self.kind.data == "amount" else None
            if self.kind.data == "amount" and amount is None:
                self.amount_off.errors.append("Enter an amount like 5.00.")
                return None
            cap = self._money(self.cap)
            minimum = self._money(self.min_subtotal) or 0
        except ValidationError:
            return None
        return DiscountTerms(
            code=self.code.data, percent_off=percent, amount_off=amount, cap=cap,
            min_subtotal=minimum,
            valid_from=self.valid_from.data and self.valid_from.data.replace(tzinfo=UTC),
            valid_until=self.valid_until.data and self.valid_until.data.replace(tzinfo=UTC),
            max_uses=self.max_uses.data, max_uses_per_customer=self.max_uses_per_customer.data,
        )
