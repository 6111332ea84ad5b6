"""Form classes, one module per blueprint."""

from flask_wtf import FlaskForm


class EmptyForm(FlaskForm):
    """A POST-only button: carries nothing but the CSRF token."""
