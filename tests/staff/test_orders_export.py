"""The CSV export: exactly the filtered list, in its order, safe to open in a spreadsheet."""

import csv
import io

from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import PaymentStatus
from checkout.models.order import FlagCode
from checkout.services import order_search
from checkout.web.staff.orders import CSV_HEADER
from tests.factories import ProductFactory
from tests.staff.orders_support import list_all, make_order


def _csv(client, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/staff/orders/export.csv?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.is_streamed
    reader = csv.DictReader(io.StringIO(response.get_data(as_text=True), newline=""))
    assert tuple(reader.fieldnames) == CSV_HEADER
    return list(reader)


def test_export_is_the_filtered_list_across_all_its_pages(app, staff, monkeypatch):
    # Pages of 3 and export batches of 2: both the list and the file are read in pieces.
    monkeypatch.setattr(order_search, "PAGE_SIZE", 3)
    monkeypatch.setattr(order_search, "EXPORT_BATCH", 2)
    with app.app_context():
        products = [ProductFactory(price=p) for p in (700, 1100)]
        for i in range(11):
            make_order(product=products[i % 2], status=OrderStatus.PAYMENT_CONFIRMED,
                       payment=PaymentStatus.SUCCEEDED, email=f"match{i}@example.com")
        make_order(product=products[0], status=OrderStatus.PAYMENT_CONFIRMED,
                   email="elsewhere@example.org")
        make_order(product=products[0], status=OrderStatus.CANCELLED, email="match@example.com")
    query = "status=payment_confirmed&q=match&sort=total&dir=asc"
    listed, pages = list_all(staff, f"/staff/orders/?{query}")
    exported = [row["number"] for row in _csv(staff, query)]
    assert pages == 4
    assert len(listed) == 11
    assert exported == listed


def test_export_ignores_the_page_position_it_was_asked_from(app, staff, monkeypatch):
    monkeypatch.setattr(order_search, "PAGE_SIZE", 2)
    with app.app_context():
        for _ in range(5):
            make_order()
    listed, _ = list_all(staff, "/staff/orders/")
    assert [row["number"] for row in _csv(staff, "after=garbage")] == listed


def test_export_gives_money_in_major_units_with_its_currency(app, staff):
    with app.app_context():
        order = make_order(product=ProductFactory(price=1999), quantity=3,
                           payment=PaymentStatus.PARTIALLY_REFUNDED, refunded=500,
                           status=OrderStatus.PAYMENT_CONFIRMED, flag=FlagCode.DISPUTED,
                           ship_name="Ada Lovelace", email="ada@example.com")
    [row] = _csv(staff)
    assert row["number"] == order.number
    assert row["currency"] == "USD"
    assert (row["subtotal"], row["total"], row["paid"], row["refunded"]) == (
        "59.97", "59.97", "59.97", "5.00")
    assert row["status"] == "payment_confirmed"
    assert row["payment_state"] == "partially_refunded"
    assert row["open_flags"] == "disputed"
    assert row["placed_at_utc"] == order.created_at.isoformat()
    assert row["placed_at_utc"].endswith("+00:00")
    assert (row["name"], row["email"]) == ("Ada Lovelace", "ada@example.com")


def test_export_of_nothing_is_just_the_header(app, staff):
    with app.app_context():
        make_order(status=OrderStatus.CANCELLED)
    assert _csv(staff, "status=shipped") == []


def test_cells_that_a_spreadsheet_would_run_as_formulas_arrive_as_text(app, staff):
    hostile = ["=HYPERLINK(\"http://evil.test\",\"click\")", "+1+2", "-2+3", "@SUM(A1)",
               "\tTabbed", "\rReturned"]
    with app.app_context():
        for i, name in enumerate(hostile):
            make_order(ship_name=name, ship_city=name, email=f"p{i}@example.com")
        make_order(ship_name="Plain Name", ship_city="Bath", email="plain@example.com")
    rows = {row["email"]: row for row in _csv(staff)}
    for i, name in enumerate(hostile):
        assert rows[f"p{i}@example.com"]["name"] == "'" + name
        assert rows[f"p{i}@example.com"]["city"] == "'" + name
    assert rows["plain@example.com"]["name"] == "Plain Name"
