"""Attack (issue 11): the checkout POST's rewrite (one DELETE … RETURNING for the cart, one
conditional UPDATE for every hold) raced for the last unit by many shoppers at once, in
threads against one app (its PostgreSQL pass: real row locks): exactly one order holds it,
everyone else is told it is sold out (409), no 500, no oversell."""

import threading
from collections import Counter

from sqlalchemy import func, select

from checkout.extensions import db
from checkout.models import Order
from tests.shop import add_to_cart, checkout_form, submit_checkout
from tests.state import stock_of

SHOPPERS = 12


def test_the_last_unit_raced_by_many_has_exactly_one_winner(app, products):
    vase = products["VASE"]  # one of a kind
    shoppers = []
    for _ in range(SHOPPERS):
        client = app.test_client()
        assert add_to_cart(client, vase, 1).status_code == 303
        shoppers.append((client, checkout_form(client)))
    start = threading.Barrier(SHOPPERS)
    answers = []

    def place(client, hidden):
        start.wait()
        try:
            answers.append(submit_checkout(client, hidden).status_code)
        except Exception as exc:  # a served shop's 500
            answers.append(f"{type(exc).__name__}: {exc}"[:200])

    threads = [threading.Thread(target=place, args=shopper) for shopper in shoppers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert Counter(answers) == {303: 1, 409: SHOPPERS - 1}, answers
    assert stock_of(app, vase) == (1, 1)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1
        db.session.remove()
