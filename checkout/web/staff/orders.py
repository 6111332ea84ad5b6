"""The staff orders list: filter, search, sort, page through, and export what is shown."""

import csv
import io
from collections.abc import Iterator

from flask import (
    Blueprint,
    Response,
    abort,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from checkout.domain.spreadsheet import major_units, safe_cell
from checkout.forms.staff_orders import OrderFilterForm
from checkout.services import order_search
from checkout.services.order_search import (
    BadCursor,
    OrderPage,
    OrderQuery,
    OrderRow,
    SortDirection,
    SortKey,
)

bp = Blueprint("orders", __name__, url_prefix="/orders")

CSV_HEADER = (
    "number", "placed_at_utc", "status", "payment_state", "email", "name", "city", "country",
    "currency", "subtotal", "discount", "shipping", "tax", "total", "paid", "refunded",
    "open_flags",
)


def _filters() -> tuple[OrderFilterForm, OrderQuery | None]:
    form = OrderFilterForm(request.args)
    return form, form.to_query() if form.validate() else None


def _list_args(**changes: str) -> dict[str, str]:
    """The list's current filters (without its page position), with `changes` applied."""
    args = {k: v for k, v in request.args.items() if k != "after" and v != ""}
    args.update(changes)
    return args


def _sort_links(query: OrderQuery) -> dict[str, str]:
    """For each sortable column, the list sorted by it: flipped if it is the current sort."""
    links = {}
    flipped = {SortDirection.ASC: SortDirection.DESC, SortDirection.DESC: SortDirection.ASC}
    for key in SortKey:
        direction = flipped[query.direction] if key == query.sort else SortDirection.DESC
        links[key.value] = url_for(".index", **_list_args(sort=key.value, dir=direction.value))
    return links


def _render_list(form: OrderFilterForm, query: OrderQuery | None, page: OrderPage | None):
    return render_template(
        "staff/orders/index.html",
        form=form,
        query=query,
        page=page,
        sort_links=_sort_links(query) if query else {},
        first_url=url_for(".index", **_list_args()),
        next_url=url_for(".index", **_list_args(after=page.next_cursor))
        if page and page.next_cursor else None,
        export_url=url_for(".export", **_list_args()),
        paged=bool(request.args.get("after")),
    )


@bp.get("/")
def index():
    """List the orders matching the filters, one keyset page at a time."""
    form, query = _filters()
    if query is None:
        return _render_list(form, None, None), 422
    try:
        page = order_search.find_orders(query, request.args.get("after") or None)
    except BadCursor as error:
        abort(400, str(error))
    return _render_list(form, query, page)


def _csv_record(row: OrderRow) -> list[str]:
    money = [major_units(amount, row.currency) for amount in (
        row.subtotal, row.discount, row.shipping, row.tax, row.total, row.paid, row.refunded)]
    return [
        row.number, row.created_at.isoformat(), row.status.value, row.payment_state.value,
        row.email, row.ship_name, row.ship_city, row.ship_country, row.currency, *money,
        " ".join(row.flags),
    ]


def _csv_lines(query: OrderQuery) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for row in order_search.all_orders(query):
        writer.writerow([safe_cell(cell) for cell in _csv_record(row)])
        # Send what is written every row: the download streams instead of piling up here.
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


@bp.get("/export.csv")
def export():
    """Download every order matching the filters (all pages, in the list's order) as CSV."""
    form, query = _filters()
    if query is None:
        return _render_list(form, None, None), 422
    return Response(
        stream_with_context(_csv_lines(query)),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="orders.csv"'},
    )
