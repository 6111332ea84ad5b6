"""The staff orders list's filter form: a GET form, so bookmarkable and without a CSRF token."""

from datetime import date

from wtforms import BooleanField, DateField, Form, SelectField, StringField
from wtforms.validators import AnyOf, Length, Optional, Regexp, ValidationError

from checkout.domain.order_status import OrderStatus
from checkout.forms import ONE_LINE
from checkout.services.order_search import (
    MAX_QUERY_LENGTH,
    OrderQuery,
    PaymentState,
    SortDirection,
    SortKey,
)


class UtcDateField(DateField):
    """A calendar day in UTC, typed as YYYY-MM-DD (what a date input sends)."""

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = date.fromisoformat(valuelist[0].strip())
        except ValueError:
            self.data = None
            raise ValueError(f"Enter the date as YYYY-MM-DD, not {valuelist[0][:20]!r}.") from None


def _choice(label: str, choices: list[tuple[str, str]], message: str, **kwargs) -> SelectField:
    return SelectField(
        label,
        choices=choices,
        validate_choice=False,
        validators=[AnyOf([value for value, _ in choices], message=message)],
        **kwargs,
    )


class OrderFilterForm(Form):
    q = StringField(
        "Search",
        description="Order number, e-mail or name",
        validators=[
            Length(max=MAX_QUERY_LENGTH,
                   message=f"Search for at most {MAX_QUERY_LENGTH} characters."),
            Regexp(ONE_LINE,
                   message="Remove the control characters from the search."),
        ],
    )
    status = _choice(
        "Status",
        [("", "Any status")] + [(s.value, s.label) for s in OrderStatus],
        "Choose a status from the list.",
        default="",
    )
    payment = _choice(
        "Payment",
        [("", "Any payment state")] + [(p.value, p.label) for p in PaymentState],
        "Choose a payment state from the list.",
        default="",
    )
    placed_from = UtcDateField("Placed from (UTC)", name="from", validators=[Optional()])
    placed_to = UtcDateField("Placed to (UTC)", name="to", validators=[Optional()])
    flagged = BooleanField("Flagged only", false_values=("", "0", "false", "no", "off"))
    sort = _choice(
        "Sort by",
        [(SortKey.CREATED_AT.value, "Date placed"), (SortKey.TOTAL.value, "Total"),
         (SortKey.NUMBER.value, "Order number")],
        "Sort by date placed, total or order number.",
        default=SortKey.CREATED_AT.value,
    )
    direction = _choice(
        "Order",
        [(SortDirection.DESC.value, "Descending"), (SortDirection.ASC.value, "Ascending")],
        "Sort ascending or descending.",
        name="dir",
        default=SortDirection.DESC.value,
    )

    def validate_placed_to(self, field) -> None:
        if field.data and self.placed_from.data and field.data < self.placed_from.data:
            raise ValidationError("The end date is before the start date.")

    def to_query(self) -> OrderQuery:
        """The validated filters as the search service takes them."""
        return OrderQuery(
            status=OrderStatus(self.status.data) if self.status.data else None,
            payment=PaymentState(self.payment.data) if self.payment.data else None,
            placed_from=self.placed_from.data,
            placed_to=self.placed_to.data,
            flagged=bool(self.flagged.data),
            q=(self.q.data or "").strip(),
            sort=SortKey(self.sort.data),
            direction=SortDirection(self.direction.data),
        )
