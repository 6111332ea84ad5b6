"""Attack (issue 11): the read pages' statements are built once at import, with bound parameters
(services/catalog.py, cart.py, orders.py, invoices.py, refund_requests.py, order_refunds.py,
pricing.py). Served by gthread workers, many threads run the same statement objects at once:
each request must see its own parameters' rows; hostile values in the parameters (a page past
the end, digits from other scripts, a huge slug) are a 404, never a 500."""

import re
import threading
from urllib.parse import quote

import pytest

from checkout.extensions import db
from tests.factories import OrderFactory, ProductFactory
from tests.state import guest_token

THREADS = 6
ROUNDS = 15


def test_threads_running_the_same_prebuilt_statements_each_see_their_own_rows(app):
    with app.app_context():
        products = [ProductFactory(sku=f"T{i}", title=f"Threaded thing {i:02}", on_hand=5)
                    for i in range(THREADS)]
        slugs = [p.slug for p in products]
        orders = [OrderFactory(items=[(p, 1)], ship_name=f"Buyer {i:02}")
                  for i, p in enumerate(products)]
        numbers = [o.number for o in orders]
        db.session.remove()
    tokens = [guest_token(app, n) for n in numbers]
    problems = []
    start = threading.Barrier(THREADS)

    def shopper(i: int) -> None:
        client = app.test_client()
        start.wait()
        for _ in range(ROUNDS):
            product = client.get(f"/products/{slugs[i]}").get_data(as_text=True)
            order = client.get(f"/orders/{numbers[i]}?t={tokens[i]}").get_data(as_text=True)
            if f"Threaded thing {i:02}" not in product or re.search(
                    rf"Threaded thing (?!{i:02})\d\d", product):
                problems.append(("product", i))
            if numbers[i] not in order or f"Buyer {i:02}" not in order:
                problems.append(("order", i))

    threads = [threading.Thread(target=shopper, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert problems == []


@pytest.mark.parametrize("query", ["?page=2", "?page=10000", "?page=10001", "?page=-1",
                                   "?page=0", "?page=%D9%A2", "?page=9" * 3, "?page=1e3",
                                   "?page=" + "9" * 400, "?page=%EF%BC%92"])
def test_catalog_pages_past_the_end_or_malformed_are_404s(app, client, query):
    with app.app_context():
        ProductFactory(sku="ONLY", title="Only thing")
        db.session.remove()
    assert client.get("/" + query).status_code == 404, query


def test_hostile_slugs_and_order_numbers_are_404s(app, client):
    for path in ("/products/" + "x" * 5000, "/products/%E2%80%AE", "/orders/" + "9" * 400,
                 "/orders/" + quote("' OR 1=1 --"), "/products/" + quote("%_")):
        assert client.get(path).status_code == 404, path
