"""Cart forms: the product id and a quantity, never a price."""

from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Regexp

from checkout.domain.pricing import MAX_QUANTITY_PER_LINE
from checkout.forms import ShopForm


class AddToCartForm(ShopForm):
    product_id = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9]{1,9}\Z")])
    quantity = IntegerField(
        "Quantity",
        default=1,
        validators=[
            InputRequired("Enter a quantity."),
            NumberRange(1, MAX_QUANTITY_PER_LINE, f"Choose between 1 and {MAX_QUANTITY_PER_LINE}."),
        ],
    )


class UpdateLineForm(ShopForm):
    quantity = IntegerField(
        "Quantity",
        validators=[
            InputRequired("Enter a quantity."),
            NumberRange(
                0, MAX_QUANTITY_PER_LINE, f"Choose between 0 and {MAX_QUANTITY_PER_LINE}."
            ),
        ],
    )


class DiscountForm(ShopForm):
    code = StringField(
        "Discount code",
        validators=[
            DataRequired("Enter a discount code."),
            # What a code may look like is the discount service's rule ("unknown code").
            Length(max=100, message="That code cannot be used: unknown code."),
        ],
        render_kw={"autocomplete": "off", "autocapitalize": "characters"},
    )
