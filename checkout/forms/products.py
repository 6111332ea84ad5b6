"""Admin forms for products and their stock."""

from flask import current_app
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from checkout.domain.money import MoneyError, parse_amount
from checkout.forms import ONE_LINE, TEXT, ShopForm
from checkout.services.inventory import MAX_ON_HAND
from checkout.services.products import MAX_SLUG, SKU_PATTERN, SLUG_PATTERN


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ProductForm(ShopForm):
    title = StringField("Title", filters=[_strip], validators=[
        DataRequired("Enter a title."),
        Length(max=200, message="Keep the title to 200 characters."),
        Regexp(ONE_LINE, message="Remove the control characters from the title."),
    ])
    description = TextAreaField("Description", filters=[_strip], validators=[
        Length(max=5000, message="Keep the description to 5,000 characters."),
        Regexp(TEXT, message="Remove the control characters from the description."),
    ])
    price = StringField("Price", filters=[_strip], description="In the store currency, e.g. 19.99.",
                        validators=[DataRequired("Enter a price.")])
    sku = StringField("SKU", filters=[_strip, lambda v: v.upper() if v else v], validators=[
        DataRequired("Enter a SKU."),
        Regexp(SKU_PATTERN, message="A SKU is up to 64 letters, digits, '.', '-' or '_'."),
    ])
    slug = StringField(
        "Address (slug)", filters=[_strip, lambda v: v.lower() if v else v],
        description="The product's page is /products/<slug>. Empty: made from the title.",
        validators=[
            Optional(),
            Length(max=MAX_SLUG, message=f"Keep the slug to {MAX_SLUG} characters."),
            Regexp(SLUG_PATTERN, message="A slug is lower-case letters and digits joined by '-'."),
        ],
    )
    image = FileField("Image", description="PNG, JPEG or WebP.")
    is_active = BooleanField("For sale (shown in the catalog)", default=True)

    def validate_price(self, field) -> None:
        try:
            self.price_minor = parse_amount(field.data, current_app.config["STORE_CURRENCY"])
        except MoneyError as exc:
            raise ValidationError(str(exc)) from None


class NewProductForm(ProductForm):
    initial_stock = IntegerField("Opening stock", default=0, validators=[
        Optional(), NumberRange(0, MAX_ON_HAND, f"Enter 0 to {MAX_ON_HAND:,} units."),
    ])


class StockForm(ShopForm):
    mode = RadioField("Change", default="delta", choices=[
        ("delta", "Add or remove units (e.g. 5 or -2)"), ("count", "Set the count on hand to"),
    ], validators=[InputRequired("Choose how to change the stock.")])
    quantity = IntegerField("Units", validators=[
        InputRequired("Enter a number of units."),
        NumberRange(-MAX_ON_HAND, MAX_ON_HAND, f"Enter at most {MAX_ON_HAND:,} units."),
    ])
    reason = StringField("Reason", filters=[_strip], validators=[
        DataRequired("Say why the stock changes (it goes in the ledger)."),
        Length(max=200, message="Keep the reason to 200 characters."),
        Regexp(ONE_LINE, message="Remove the control characters from the reason."),
    ])
