"""Form classes, one module per blueprint."""

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.form import SUBMIT_METHODS
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from wtforms import FileField
from wtforms.validators import ValidationError

from checkout.domain.cards import holds_card_number


class ShopForm(FlaskForm):
    """A FlaskForm that reads only what a browser's HTML form sends.

    Flask-WTF also feeds a form from a JSON body and puts uploaded files into any field of the
    same name: a field then holds a dict, a list, a number or a file where every validator
    expects text, and raised (a 500). Here a JSON body is no form data (the fields are
    missing, so a 422 says what to fill in), and a file reaches a FileField only.
    """

    class Meta:
        def wrap_formdata(self, form, formdata):
            if formdata is None or hasattr(formdata, "getlist"):
                return super().wrap_formdata(form, formdata)  # given by the view: as it is
            # Flask-WTF's automatic choice (request.form, request.files, JSON), narrowed.
            if request.method not in SUBMIT_METHODS:
                return None
            file_fields = {field.name for field in form if isinstance(field, FileField)}
            files = [(name, upload) for name, upload in request.files.items(multi=True)
                     if name in file_fields]
            if files:
                return CombinedMultiDict((MultiDict(files), request.form))
            return request.form or None


# Patterns for Regexp: \Z, never $, which also matches before a final line feed.
# Printable text on one line: no control characters (PostgreSQL cannot even store a NUL byte).
ONE_LINE = r"^[^\x00-\x1f\x7f]*\Z"
# Printable text, line breaks and tabs allowed (text areas).
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*\Z"
# The one-time token a form carries to make sending it twice do one thing.
FORM_TOKEN = r"^[A-Za-z0-9_-]{20,64}\Z"


class EmptyForm(ShopForm):
    """A POST-only button: carries nothing but the CSRF token."""


class NoCardNumber:
    """Refuse text that holds a card number: it is typed on Stripe's page, never stored here."""

    message = ("Do not type card details here: you enter them on the secure payment page. "
               "Remove the card number.")

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and holds_card_number(field.data):
            raise ValidationError(self.message)
