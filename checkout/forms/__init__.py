"""Form classes, one module per blueprint."""

from flask_wtf import FlaskForm
from wtforms.validators import ValidationError

from checkout.domain.cards import holds_card_number


class EmptyForm(FlaskForm):
    """A POST-only button: carries nothing but the CSRF token."""


class NoCardNumber:
    """Refuse text that holds a card number: it is typed on Stripe's page, never stored here."""

    message = ("Do not type card details here: you enter them on the secure payment page. "
               "Remove the card number.")

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and holds_card_number(field.data):
            raise ValidationError(self.message)
