"""The staff dashboard shows the last reconciliation: when, what it fixed, what needs a person."""

import html
import re

from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Order
from tests.shop import place_and_get_session


def _reconcile(app) -> int:
    return app.test_cli_runner().invoke(args=["reconcile", "--since", "2h"]).exit_code


def test_before_any_run_the_dashboard_says_so(staff):
    page = staff.get("/staff/").get_data(as_text=True)
    assert "Reconciliation has not run yet" in page


def test_the_last_run_lists_fixes_and_issues_with_links_to_their_orders(
    app, staff, sandbox, products
):
    shopper = app.test_client()
    fixed_session = place_and_get_session(shopper, products["MUG"], 1)
    assert sandbox.pay(fixed_session).ok  # its webhook never arrives
    other = app.test_client()
    wrong_session = place_and_get_session(other, products["PEN"], 1)
    with app.app_context():
        wrong = db.session.scalar(select(Order).where(Order.total == 1250))
        wrong.total = 1000  # what Stripe takes is no longer the order's total
        db.session.commit()
        wrong_number = wrong.number
    assert sandbox.pay(wrong_session).ok
    assert _reconcile(app) == 1
    with app.app_context():
        fixed_number = db.session.scalar(
            select(Order.number).where(Order.number != wrong_number))

    page = html.unescape(staff.get("/staff/").get_data(as_text=True))
    section = page[page.index('id="reconciliation"'):]
    section = section[:section.index("</section>")]
    assert "Needs a person" in section and "Amount mismatch" in section
    assert f'href="/staff/orders/{wrong_number}"' in section
    assert "Fixed (1)" in section and "checkout.session.completed" in section
    assert f'href="/staff/orders/{fixed_number}"' in section
    assert re.search(r"Last run \d{4}-\d\d-\d\d \d\d:\d\d UTC\s+\(by hand\)", section)


def test_a_clean_run_says_nothing_needs_a_person(app, staff):
    assert _reconcile(app) == 0
    page = staff.get("/staff/").get_data(as_text=True)
    assert "Nothing needs a person" in page and "Nothing was missing." in page
