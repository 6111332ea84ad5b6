"""Attack (issue 11): on SQLite the search first compares the newest RECENT_WINDOW orders of the
list (filters, sort, cursor applied) and asks the FTS5 index only when they do not fill a
page (services/order_search.py _found). Whatever the sort (totals tie by the hundred), the
direction, the filter and the needle's rarity, paging through must list exactly the orders a
plain "contains" lists, in the list's order, each once."""

import pytest
from sqlalchemy import select

from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import Order
from checkout.services import order_search
from checkout.services.order_search import OrderQuery, SortDirection, SortKey
from tests.staff.test_orders_scale import _bulk_insert_orders

SORTS = [(SortKey.TOTAL, SortDirection.ASC), (SortKey.TOTAL, SortDirection.DESC),
         (SortKey.NUMBER, SortDirection.ASC), (SortKey.NUMBER, SortDirection.DESC),
         (SortKey.CREATED_AT, SortDirection.ASC), (SortKey.CREATED_AT, SortDirection.DESC)]


def _expected(q: str, sort: SortKey, direction: SortDirection,
              status: OrderStatus | None) -> list[str]:
    needle = q.lower()
    rows = [r for r in db.session.execute(select(
        Order.id, Order.number, Order.email, Order.ship_name, Order.total, Order.created_at,
        Order.status))
        if any(needle in field.lower() for field in (r.number, r.email, r.ship_name))
        and (status is None or r.status == status)]
    key = {SortKey.TOTAL: lambda r: (r.total, r.id), SortKey.NUMBER: lambda r: r.number,
           SortKey.CREATED_AT: lambda r: (r.created_at, r.id)}[sort]
    return [r.number for r in sorted(rows, key=key, reverse=direction == SortDirection.DESC)]


def _paged(query: OrderQuery) -> list[str]:
    listed, cursor = [], None
    while True:
        page = order_search.find_orders(query, cursor)
        listed += [row.number for row in page.rows]
        if page.next_cursor is None:
            return listed
        cursor = page.next_cursor


@pytest.mark.parametrize("q", ["Shopper 1", "shopper29", "@example.org", "b1000"])
@pytest.mark.parametrize("status", [None, OrderStatus.SHIPPED])
def test_every_page_of_a_search_is_the_contains_list_in_order(app, q, status):
    with app.app_context():
        _bulk_insert_orders(0, 3_000)
        db.session.commit()
        for sort, direction in SORTS:
            query = OrderQuery(q=q, sort=sort, direction=direction, status=status)
            wanted = _expected(q, sort, direction, status)
            assert _paged(query) == wanted, (q, status, sort, direction)
        db.session.remove()
