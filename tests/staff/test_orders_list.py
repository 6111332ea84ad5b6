"""The staff orders list: each filter, the search box, sorting, keyset pages, and bad input."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import PaymentStatus
from checkout.extensions import db
from checkout.models.order import FlagCode
from checkout.services import order_search
from tests.factories import ProductFactory
from tests.staff.orders_support import list_all, make_order, numbers_on

DAY = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _numbers(client, query: str = "") -> list[str]:
    response = client.get(f"/staff/orders/?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return numbers_on(response.get_data(as_text=True))


def test_status_filter_lists_only_orders_in_that_status(app, staff):
    with app.app_context():
        shipped = make_order(status=OrderStatus.SHIPPED).number
        make_order(status=OrderStatus.PENDING_PAYMENT)
        make_order(status=OrderStatus.CANCELLED)
    assert _numbers(staff, "status=shipped") == [shipped]
    assert len(_numbers(staff)) == 3


@pytest.mark.parametrize(
    ("payment", "refunded", "state"),
    [
        (None, 0, "unpaid"),
        (PaymentStatus.FAILED, 0, "unpaid"),
        (PaymentStatus.PROCESSING, 0, "processing"),
        (PaymentStatus.SUCCEEDED, 0, "paid"),
        (PaymentStatus.PARTIALLY_REFUNDED, 400, "partially_refunded"),
        (PaymentStatus.REFUNDED, 1000, "refunded"),
    ],
)
def test_payment_filter_follows_the_payments_ledger(app, staff, payment, refunded, state):
    with app.app_context():
        product = ProductFactory(price=1000)
        wanted = make_order(product=product, payment=payment, refunded=refunded).number
        others = [(PaymentStatus.SUCCEEDED, 0, "paid"),
                  (PaymentStatus.PARTIALLY_REFUNDED, 300, "partially_refunded"),
                  (PaymentStatus.REFUNDED, 1000, "refunded"),
                  (PaymentStatus.PROCESSING, 0, "processing"), (None, 0, "unpaid")]
        for other, other_refunded, other_state in others:
            if other_state != state:
                make_order(product=product, payment=other, refunded=other_refunded)
    page = staff.get(f"/staff/orders/?payment={state}").get_data(as_text=True)
    assert numbers_on(page) == [wanted]
    assert f'class="payment-{state}"' in page


def test_date_range_takes_whole_utc_days_at_both_ends(app, staff):
    with app.app_context():
        before = make_order(created_at=DAY - timedelta(days=1, hours=12, microseconds=1)).number
        first = make_order(created_at=DAY.replace(hour=0)).number
        last = make_order(created_at=DAY + timedelta(days=1, hours=11, minutes=59)).number
        after = make_order(created_at=DAY + timedelta(days=2)).number
    inside = _numbers(staff, "from=2026-03-10&to=2026-03-11&sort=created_at&dir=asc")
    assert inside == [first, last]
    assert _numbers(staff, "from=2026-03-12") == [after]
    assert _numbers(staff, "to=2026-03-09") == [before]


def test_flagged_shows_orders_with_an_open_flag_only(app, staff):
    with app.app_context():
        open_flag = make_order(flag=FlagCode.REFUND_FAILED).number
        make_order(flag=FlagCode.DISPUTED, flag_resolved_at=DAY)
        make_order()
    page = staff.get("/staff/orders/?flagged=1").get_data(as_text=True)
    assert numbers_on(page) == [open_flag]
    assert '<span class="flag flag-refund_failed">Refund failed</span>' in page


@pytest.mark.parametrize(
    ("q", "wanted"),
    [("7kq2-m9", "by-number"), ("ANNA.KARENINA@EXAMPLE", "by-email"),
     ("levin", "by-name"), ("  Levin  ", "by-name")],
)
def test_search_matches_number_email_or_name_whatever_the_case(app, staff, q, wanted):
    with app.app_context():
        made = {
            "by-number": make_order(number="7KQ2-M9XD", email="x@example.com",
                                    ship_name="X").number,
            "by-email": make_order(email="anna.karenina@example.com", ship_name="A K").number,
            "by-name": make_order(email="k@example.com", ship_name="Konstantin Levin").number,
        }
        make_order(email="someone@example.org", ship_name="Someone Else")
    assert _numbers(staff, f"q={q}") == [made[wanted]]


def test_search_takes_like_wildcards_literally(app, staff):
    with app.app_context():
        make_order(email="plain@example.com")
        percent = make_order(email="100%real@example.com").number
    assert _numbers(staff, "q=%25") == [percent]
    assert _numbers(staff, "q=_") == []


def test_sorts_by_total_number_and_date_both_ways(app, staff):
    with app.app_context():
        orders = [
            make_order(product=ProductFactory(price=price), number=number,
                       created_at=DAY + timedelta(hours=hours))
            for price, number, hours in [(3000, "BBBB-0001", 1), (1000, "CCCC-0001", 3),
                                         (2000, "AAAA-0001", 2)]
        ]
        by_total = [o.number for o in sorted(orders, key=lambda o: o.total)]
        by_date = [o.number for o in sorted(orders, key=lambda o: o.created_at)]
    assert _numbers(staff, "sort=total&dir=asc") == by_total
    assert _numbers(staff, "sort=total&dir=desc") == by_total[::-1]
    assert _numbers(staff, "sort=number&dir=asc") == ["AAAA-0001", "BBBB-0001", "CCCC-0001"]
    assert _numbers(staff, "sort=number&dir=desc") == ["CCCC-0001", "BBBB-0001", "AAAA-0001"]
    assert _numbers(staff, "sort=created_at&dir=asc") == by_date
    assert _numbers(staff) == by_date[::-1]


@pytest.mark.parametrize("sort", ["created_at", "total", "number"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_keyset_pages_cover_every_order_once_in_order(app, staff, monkeypatch, sort, direction):
    monkeypatch.setattr(order_search, "PAGE_SIZE", 7)
    with app.app_context():
        # Few prices and one shared timestamp: most sort keys tie, so the id must break ties.
        products = [ProductFactory(price=price) for price in (500, 900, 1300)]
        made = [make_order(product=products[i % 3], created_at=DAY + timedelta(hours=i % 2))
                for i in range(30)]
        key = {
            "created_at": lambda o: (o.created_at, o.id),
            "total": lambda o: (o.total, o.id),
            "number": lambda o: (o.number,),
        }[sort]
        expected = [o.number for o in sorted(made, key=key, reverse=direction == "desc")]
    seen, pages = list_all(staff, f"/staff/orders/?sort={sort}&dir={direction}")
    assert seen == expected
    assert pages == 5


def test_a_page_link_keeps_the_filters(app, staff, monkeypatch):
    monkeypatch.setattr(order_search, "PAGE_SIZE", 2)
    with app.app_context():
        shipped = {make_order(status=OrderStatus.SHIPPED).number for _ in range(5)}
        for _ in range(4):
            make_order(status=OrderStatus.CANCELLED)
    seen, pages = list_all(staff, "/staff/orders/?status=shipped")
    assert sorted(seen) == sorted(shipped)
    assert pages == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-02-30", "Enter the date as YYYY-MM-DD"),
        ("to=yesterday", "Enter the date as YYYY-MM-DD"),
        ("from=2026-03-10&to=2026-03-01", "The end date is before the start date."),
        ("status=lost", "Choose a status from the list."),
        ("payment=free", "Choose a payment state from the list."),
        ("sort=email", "Sort by date placed, total or order number."),
        ("dir=sideways", "Sort ascending or descending."),
        ("q=" + "x" * 101, "Search for at most 100 characters."),
        ("q=a%01b", "Remove the control characters from the search."),
    ],
)
def test_bad_filters_get_the_form_again_with_a_clear_message(app, staff, query, message):
    with app.app_context():
        make_order()
    for path in ("/staff/orders/", "/staff/orders/export.csv"):
        response = staff.get(f"{path}?{query}")
        assert response.status_code == 422, (path, response.status_code)
        page = response.get_data(as_text=True)
        assert message in page
        assert numbers_on(page) == []


@pytest.mark.parametrize(
    ("cursor", "message"),
    [
        ("not-a-cursor!", "That page link is damaged"),
        ("WyJjcmVhdGVkX2F0IiwiZGVzYyIsIm5vdC1hLWRhdGUiLDFd", "That page link is damaged"),
        ("WyJ0b3RhbCIsImRlc2MiLDEwMCwxXQ", "That page link belongs to another sort order"),
        ("e30", "That page link belongs to another sort order"),
        ("WyJjcmVhdGVkX2F0IiwiZGVzYyIsIjIwMjYtMDMtMTBUMTI6MDA6MDAiLDFd", "damaged"),
    ],
)
def test_a_bad_page_cursor_is_a_400_with_a_way_back(app, staff, cursor, message):
    response = staff.get(f"/staff/orders/?after={cursor}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_page_cursor_from_the_list_itself_decodes(app, ctx):
    query = order_search.OrderQuery()
    with app.test_request_context():
        order = make_order(created_at=DAY)
        [row] = order_search.find_orders(query).rows
    cursor = order_search.encode_cursor(query, row)
    assert order_search.decode_cursor(query, cursor) == (DAY, order.id)


def test_the_list_shows_what_staff_need_per_order(app, staff):
    with app.app_context():
        order = make_order(status=OrderStatus.PAYMENT_CONFIRMED, payment=PaymentStatus.SUCCEEDED,
                           ship_name="Ada Lovelace", email="ada@example.com", quantity=2)
        db.session.remove()
    page = staff.get("/staff/orders/").get_data(as_text=True)
    for text in (order.number, "Ada Lovelace", "ada@example.com", "Payment confirmed", "Paid",
                 "$20.00", "UTC"):
        assert text in page


def test_a_column_heading_sorts_by_it_and_flips_the_current_sort(app, staff):
    with app.app_context():
        make_order(status=OrderStatus.SHIPPED)
    page = staff.get("/staff/orders/?sort=total&dir=asc&status=shipped").get_data(as_text=True)
    assert '<th scope="col" class="num" aria-sort="ascending"><a href="/staff/orders/?' in page
    links = {html.unescape(href) for href in re.findall(r'<th[^>]*><a href="([^"]+)"', page)}
    assert links == {
        "/staff/orders/?sort=total&dir=desc&status=shipped",
        "/staff/orders/?sort=number&dir=desc&status=shipped",
        "/staff/orders/?sort=created_at&dir=desc&status=shipped",
    }
