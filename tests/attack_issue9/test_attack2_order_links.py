"""Attacks on the expired-order-link flow (issue 9, defect 7): who ordered what, told by work."""

from flask import Flask
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import OutboxMessage
from tests.attack_issue9.test_enumeration_attacks import queued as queued  # the fixture
from tests.attack_issue9.test_enumeration_attacks import statements
from tests.conftest import csrf_token
from tests.factories import OrderFactory


def test_a_new_link_request_does_the_same_work_whether_or_not_the_address_matched(
        app: Flask, queued: Flask):
    # Before the fix the matching address cost an outbox INSERT and a COMMIT more than a wrong
    # one (and a queued delivery): a stopwatch, or anyone counting, learned that this address
    # placed this order. Order numbers are printed on parcels and invoices.
    with app.app_context():
        number = OrderFactory(email="ada@example.com").number
        db.session.remove()
    browser = queued.test_client()
    token = csrf_token(browser, f"/orders/{number}/new-link")
    work = {}
    for email in ("ada@example.com", "nobody@example.com"):
        with statements(queued) as seen:
            response = browser.post(f"/orders/{number}/new-link",
                                    data={"csrf_token": token, "email": email})
        assert response.status_code == 200
        work[email] = (seen, response.get_data(as_text=True), sorted(response.headers.keys()))
    assert work["ada@example.com"] == work["nobody@example.com"]
    # The lookup and the mail are the worker's: run them, and only the owner gets a link.
    huey = queued.extensions["huey"]
    assert huey.pending_count() == 2
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
    with app.app_context():
        mail = list(db.session.scalars(select(OutboxMessage)))
        assert [(m.template, m.recipient) for m in mail] == [("order_link", "ada@example.com")]
        db.session.remove()


def test_an_unknown_order_number_does_the_same_work_as_a_known_one(app: Flask, queued: Flask):
    with app.app_context():
        number = OrderFactory(email="ada@example.com").number
        db.session.remove()
    browser = queued.test_client()
    token = csrf_token(browser, f"/orders/{number}/new-link")
    work = []
    for asked in (number, "CO-00000000-NONE"):
        with statements(queued) as seen:
            response = browser.post(f"/orders/{asked}/new-link",
                                    data={"csrf_token": token, "email": "eve@example.com"})
        assert response.status_code == 200
        work.append(seen)
    assert work[0] == work[1]
