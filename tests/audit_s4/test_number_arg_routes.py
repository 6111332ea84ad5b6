"""Audit s4, guards (pass): number_arg (checkout/web/routing.py:19-32) keeps each route's answers
to valid page numbers and refuses the rest as before (staff products list and stock ledger:
404 past 99,999; the webhook log: 400 with its message past 100,000)."""

import pytest

from checkout.extensions import db
from tests.state import text_of

PAGE_MESSAGE = "The page number must be a whole number from 1."


@pytest.mark.parametrize(("page", "status"), [
    ("1", 200), ("2", 200), ("99999", 200), ("00002", 200),
    ("100000", 404), ("0", 404), ("-1", 404), ("abc", 404), ("²", 404), ("", 404),
    (str(2**31 + 5), 404),
])
def test_the_staff_products_list_pages_as_before(admin, products, page, status):
    response = admin.get("/staff/products/", query_string={"page": page})
    assert response.status_code == status, text_of(response)[:500]
    ledger = admin.get(f"/staff/products/{products['MUG']}/stock", query_string={"page": page})
    assert ledger.status_code == status, text_of(ledger)[:500]


@pytest.mark.parametrize(("page", "status"), [
    ("1", 200), ("3", 200), ("100000", 200),
    ("100001", 400), ("0", 400), ("abc", 400), ("", 400), ("①", 400), (str(2**63), 400),
])
def test_the_webhook_log_pages_as_before(admin, page, status):
    response = admin.get("/staff/webhooks/", query_string={"page": page})
    assert response.status_code == status, text_of(response)[:500]
    if status == 400:
        assert PAGE_MESSAGE in text_of(response)


@pytest.mark.parametrize(("before", "status"), [
    ("1", 200), ("2147483647", 200), ("abc", 400), ("", 400), ("-1", 400), ("0", 400),
    ("1.5", 400), ("²", 400), ("2147483648", 400),
])
def test_a_codes_uses_page_position_is_served_or_a_400(app, admin, before, status):
    from sqlalchemy import select

    from checkout.models import DiscountCode
    from tests.hostile.conftest import post

    created = post(admin, "/staff/discounts/new", {"code": "SAVE10", "kind": "percent",
                                                    "percent_off": "10"})
    assert created.status_code == 303, text_of(created)[:500]
    with app.app_context():
        code_id = db.session.scalar(select(DiscountCode.id))
        db.session.remove()
    response = admin.get(f"/staff/discounts/{code_id}", query_string={"before": before})
    assert response.status_code == status, text_of(response)[:500]
    if status == 400:
        assert "That page of the code's uses does not exist" in text_of(response)
