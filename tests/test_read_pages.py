"""The read pages' own cost: what each sends to the database, counted (issue 11).

Counts, never timings: statements per request are what the profile showed to be ours, and
they do not move with the machine's load.
"""

import re

from checkout.extensions import db
from tests.factories import ProductFactory
from tests.sql_support import statements

PER_PAGE = 9


def _catalog(app, client, query: str = ""):
    with statements(app) as log:
        page = client.get("/" + query)
    return page, log


def test_a_catalog_page_is_one_statement_and_still_says_how_many_pages(app, client):
    with app.app_context():
        for i in range(20):
            ProductFactory(sku=f"C{i:02}", title=f"Thing {i:02}", on_hand=5)
        ProductFactory(sku="GONE", title="Withdrawn thing", is_active=False)
        db.session.remove()
    seen = []
    for number, titles in ((1, range(0, 9)), (2, range(9, 18)), (3, range(18, 20))):
        page, log = _catalog(app, client, f"?page={number}")
        body = page.get_data(as_text=True)
        assert page.status_code == 200
        # A guest's catalog page: its products, counted in the same SELECT; no cart query.
        assert log.count == 1, log.summary()
        assert f"Page {number} of 3" in body
        shown = re.findall(r"Thing (\d\d)", body)
        assert shown == [f"{i:02}" for i in titles]
        assert ('rel="prev"' in body) == (number > 1)
        assert ('rel="next"' in body) == (number < 3)
        seen += shown
        assert "Withdrawn thing" not in body
    assert len(seen) == len(set(seen)) == 20
    assert client.get("/?page=4").status_code == 404


def test_a_catalog_of_one_page_shows_no_page_links(app, client):
    with app.app_context():
        for i in range(PER_PAGE):
            ProductFactory(sku=f"S{i}", title=f"Item {i}")
        db.session.remove()
    page, log = _catalog(app, client)
    body = page.get_data(as_text=True)
    assert len(re.findall(r"Item \d", body)) == PER_PAGE
    assert "Page 1 of" not in body and log.count == 1


def test_an_empty_catalog_answers_200_with_nothing_listed(app, client):
    page, log = _catalog(app, client)
    assert page.status_code == 200 and "Page 1 of" not in page.get_data(as_text=True)
    assert log.count == 1


def test_reading_a_product_page_again_does_not_rewrite_the_session_cookie(client, products):
    """The first visit stores the CSRF token in the session; after that a product page only
    reads it. Re-signing and re-sending the cookie on every view was work for nothing, and a
    response that sets a cookie is one no shared cache may keep."""
    first = client.get("/products/mug")
    assert first.status_code == 200
    assert any(h.startswith("session=") for h in first.headers.getlist("Set-Cookie"))
    again = client.get("/products/mug")
    assert again.status_code == 200
    assert not any(h.startswith("session=") for h in again.headers.getlist("Set-Cookie")), (
        again.headers.getlist("Set-Cookie"))
