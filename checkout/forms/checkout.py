"""The checkout form: contact, shipping address, and the one-time token that makes it idempotent."""

import re

from email_validator import EmailNotValidError, validate_email
from wtforms import EmailField, HiddenField, RadioField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Email, Length, Optional, Regexp, ValidationError

from checkout.domain.addresses import country_name
from checkout.forms import FORM_TOKEN, ONE_LINE, NoCardNumber, ShopForm

# Countries the shop ships to.
SHIPPING_COUNTRIES = [
    "US", "CA", "GB", "IE", "FR", "DE", "NL", "BE", "LU", "AT", "CH", "IT",
    "ES", "PT", "DK", "SE", "NO", "FI", "PL", "CZ", "AU", "NZ", "JP", "SG",
]

# Postal code shapes for the countries where a wrong one is a common mistake.
POSTAL_PATTERNS = {
    "US": (r"^[0-9]{5}(-[0-9]{4})?\Z", "a US ZIP code looks like 12345 or 12345-6789"),
    "CA": (r"^[A-Za-z][0-9][A-Za-z] ?[0-9][A-Za-z][0-9]\Z",
           "a Canadian postal code looks like K1A 0B1"),
    "GB": (r"^[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}\Z",
           "a UK postcode looks like SW1A 1AA"),
    "DE": (r"^[0-9]{5}\Z", "a German postal code has 5 digits"),
    "FR": (r"^[0-9]{5}\Z", "a French postal code has 5 digits"),
    "NL": (r"^[0-9]{4} ?[A-Za-z]{2}\Z", "a Dutch postal code looks like 1234 AB"),
    "JP": (r"^[0-9]{3}-?[0-9]{4}\Z", "a Japanese postal code looks like 100-0001"),
    "AU": (r"^[0-9]{4}\Z", "an Australian postcode has 4 digits"),
}

# The longest name an order keeps (Order.ship_name).
NAME_MAX = 120


def _name_fits(form, field) -> None:
    # A Length validator would also render maxlength, and the browser would then cut a pasted
    # name short without a word: the shopper is told instead, with the count.
    length = len(field.data or "")
    if length > NAME_MAX:
        raise ValidationError(f"Keep the name to {NAME_MAX} characters: this one has {length}.")


_PRINTABLE = Regexp(ONE_LINE, message="Remove the control characters.")
_NO_CARD = NoCardNumber()


def country_choices() -> list[tuple[str, str]]:
    names = [(code, country_name(code)) for code in SHIPPING_COUNTRIES]
    return [("", "Choose a country…")] + sorted(names, key=lambda pair: pair[1])


class CheckoutForm(ShopForm):
    checkout_token = HiddenField(validators=[DataRequired(), Regexp(FORM_TOKEN)])
    email = EmailField(
        "Email",
        description="For your receipt and order updates.",
        validators=[
            DataRequired("Enter your email address."),
            Length(max=254),
            Email("Enter an email address like name@example.com.", check_deliverability=False),
            _NO_CARD,
        ],
        render_kw={"autocomplete": "email"},
    )
    name = StringField(
        "Full name",
        description=f"Up to {NAME_MAX} characters, as it should read on the parcel.",
        validators=[DataRequired("Enter the name of the person receiving the order."),
                    _name_fits, _PRINTABLE, _NO_CARD],
        render_kw={"autocomplete": "name"},
    )
    line1 = StringField(
        "Address",
        validators=[DataRequired("Enter the street address."), Length(max=200), _PRINTABLE,
                    _NO_CARD],
        render_kw={"autocomplete": "address-line1"},
    )
    line2 = StringField(
        "Apartment, suite, etc. (optional)",
        validators=[Optional(), Length(max=200), _PRINTABLE, _NO_CARD],
        render_kw={"autocomplete": "address-line2"},
    )
    city = StringField(
        "City",
        validators=[DataRequired("Enter the town or city."), Length(max=120), _PRINTABLE, _NO_CARD],
        render_kw={"autocomplete": "address-level2"},
    )
    postal_code = StringField(
        "Postal code",
        validators=[DataRequired("Enter the postal code."), Length(max=20), _PRINTABLE, _NO_CARD],
        render_kw={"autocomplete": "postal-code"},
    )
    country = SelectField(
        "Country",
        choices=country_choices(),
        validate_choice=False,
        validators=[
            DataRequired("Choose the country to ship to."),
            AnyOf(SHIPPING_COUNTRIES, "We do not ship there yet: choose a country from the list."),
        ],
        render_kw={"autocomplete": "country"},
    )

    # Choices are the shop's active methods, set by the view; "does it serve that country" is
    # the pricing service's question (ShippingUnavailable).
    shipping_method = RadioField(
        "Shipping method",
        choices=[],
        validators=[DataRequired("Choose a shipping method.")],
    )

    # Offered only when the shop takes bank transfers (BANK_TRANSFER); the view sets it up.
    payment_method = RadioField(
        "Payment method",
        choices=[("card", "Card (Stripe Checkout)"), ("bank_transfer", "Bank transfer")],
        default="card",
        validators=[DataRequired("Choose how to pay.")],
    )

    # The page shown again for a mistake is priced with what was typed before the fields' own
    # checks are shown: only a country shipped to and a well-formed address reach the database
    # (PostgreSQL cannot even compare a value holding a NUL byte); anything else prices as if
    # nothing had been typed yet.
    def priced_country(self) -> str | None:
        """The chosen country if the shop ships there."""
        return self.country.data if self.country.data in SHIPPING_COUNTRIES else None

    def priced_email(self) -> str | None:
        """The typed e-mail, stripped, if it reads as an address (it counts a code's uses)."""
        email = (self.email.data or "").strip()
        if not email or len(email) > 254:
            return None
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            return None
        return email

    def validate_postal_code(self, field) -> None:
        rule = POSTAL_PATTERNS.get(self.country.data or "")
        value = (field.data or "").strip()
        if rule and not re.match(rule[0], value):
            raise ValidationError(f"Check the postal code: {rule[1]}.")
        if not rule and not re.match(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,11}\Z", value):
            raise ValidationError("Check the postal code: letters, digits, spaces and dashes.")
