"""SQL_COUNTS=1: each response says the statements and commits the shop's engine made for it.

`make bench` reads the headers from outside; here they are held against the statements the
engine really sent while each request ran, caught by a listener of the test's own.
"""

import pytest
from sqlalchemy import event

from checkout import create_app
from checkout.extensions import db
from checkout.sql_counts import COMMITS_HEADER, STATEMENTS_HEADER
from tests.shop import add_to_cart


@pytest.fixture(scope="module")
def counted_app(app):
    """The suite's app once more, on the same databases, with the counts switched on."""
    counted = create_app({**app.config, "SQL_COUNTS": True})
    yield counted
    with counted.app_context():
        db.engine.dispose()
    counted.extensions["sandbox"].close()


@pytest.fixture
def sent(counted_app):
    """Every statement and commit the counted app's engine makes, in order."""
    seen: list[str] = []
    with counted_app.app_context():
        engine = db.engine

    def statement(_conn, _cursor, text, *_args):
        seen.append(text)

    def commit(_conn):
        seen.append("<commit>")

    event.listen(engine, "after_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    yield seen
    event.remove(engine, "after_cursor_execute", statement)
    event.remove(engine, "commit", commit)


def _counts(seen: list[str]) -> tuple[int, int]:
    statements = [s for s in seen if s != "<commit>" and not s.startswith("BEGIN")]
    return len(statements), seen.count("<commit>")


def _headers(response) -> tuple[int, int]:
    return int(response.headers[STATEMENTS_HEADER]), int(response.headers[COMMITS_HEADER])


def test_each_response_counts_its_own_statements_and_commits(counted_app, products, sent):
    client = counted_app.test_client()
    page = client.get("/")
    assert page.status_code == 200
    statements, commits = _counts(sent)
    assert _headers(page) == (statements, commits)
    assert statements > 0 and commits == 0  # the catalog only reads

    sent.clear()
    added = add_to_cart(client, products["MUG"], 2)
    assert added.status_code == 303
    # add_to_cart fetched a form first: only the POST's own statements are in its header.
    assert _headers(added) != (0, 0)
    assert _headers(added)[1] >= 1, "adding to the cart commits"
    sent.clear()
    cart = client.get("/cart/")
    assert cart.status_code == 200 and "Stoneware Mug" in cart.get_data(as_text=True)
    assert _headers(cart) == _counts(sent)


def test_a_post_that_writes_reports_its_commits(counted_app, products, sent):
    client = counted_app.test_client()
    client.get("/account/login")  # the form's CSRF token lives in the session cookie
    sent.clear()
    added = add_to_cart(client, products["PEN"])
    # add_to_cart reads the token page again, then posts: the post's counts are the rest.
    statements, commits = _counts(sent)
    post_statements, post_commits = _headers(added)
    assert post_commits == commits >= 1
    assert 0 < post_statements <= statements


def test_the_counts_are_off_unless_asked_for(client, products):
    response = client.get("/")
    assert response.status_code == 200
    assert STATEMENTS_HEADER not in response.headers
    assert COMMITS_HEADER not in response.headers
