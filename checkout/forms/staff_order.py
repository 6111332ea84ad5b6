"""Forms of the staff order page: shipping details, flag resolutions, internal notes."""

from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

from checkout.domain.carriers import CARRIER_NAMES
from checkout.forms import ONE_LINE, TEXT, ShopForm

MAX_NOTE_LENGTH = 2000
# Letters, digits, spaces and hyphens: what carriers print on a label, nothing to smuggle.
_TRACKING_NUMBER = r"^[A-Za-z0-9][A-Za-z0-9 -]*\Z"


def _stripped(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ShipForm(ShopForm):
    carrier = StringField(
        "Carrier",
        description="UPS, USPS, FedEx, DHL, Royal Mail… (others get no tracking link).",
        filters=[_stripped],
        validators=[
            DataRequired("Enter the carrier."),
            Length(max=60, message="Keep the carrier's name to 60 characters."),
            Regexp(ONE_LINE, message="Remove the control characters from the carrier."),
        ],
        render_kw={"list": "carriers", "autocomplete": "off"},
    )
    tracking_number = StringField(
        "Tracking number",
        filters=[_stripped],
        validators=[
            DataRequired("Enter the tracking number."),
            Length(max=40, message="A tracking number has at most 40 characters."),
            Regexp(_TRACKING_NUMBER,
                   message="Use only letters, digits, spaces and hyphens in the tracking number."),
        ],
        render_kw={"autocomplete": "off"},
    )
    carriers = CARRIER_NAMES


class NoteForm(ShopForm):
    note = TextAreaField(
        "Note",
        filters=[_stripped],
        validators=[
            DataRequired("Write the note."),
            Length(max=MAX_NOTE_LENGTH,
                   message=f"Keep the note to {MAX_NOTE_LENGTH} characters."),
            Regexp(TEXT, message="Remove the control characters from the note."),
        ],
    )
