"""Attack (issue 11): on SQLite every GET and HEAD now runs in a deferred, read-only transaction
unless its view is marked @writes, and a write inside one raises WriteInReadOnlyTransaction
(a 500). Every GET page of the shop, the back office and the probes, for a guest, a signed-in
shopper and an admin, with a paid and invoiced order and a pending one in the database, must
answer without a 500, by GET and by HEAD."""

import pytest
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Order, Product, WebhookEvent
from checkout.services.orders import access_token
from tests.shop import follow_success, place_and_get_session
from tests.staff.conftest import _account

SHOP_PAGES = ["/", "/cart/", "/checkout/", "/account/login", "/account/register",
              "/account/forgot", "/healthz", "/readyz", "/metrics", "/favicon.ico",
              "/account/reset/not-a-token", "/account/verify/not-a-token", "/welcome/not-a-token",
              "/checkout/success?session_id=cs_test_unknown"]
ACCOUNT_PAGES = ["/account/", "/account/orders", "/account/settings", "/account/addresses"]
STAFF_PAGES = ["/staff/", "/staff/accounts/", "/staff/bank-transfers/", "/staff/discounts/",
               "/staff/discounts/new", "/staff/orders/", "/staff/orders/?q=ada",
               "/staff/orders/export.csv", "/staff/products/", "/staff/products/new",
               "/staff/refund-requests", "/staff/webhooks/"]


@pytest.fixture
def shop_state(app, client, sandbox, products):
    """A paid, invoiced order (its webhooks received) and one waiting for payment."""
    paid = place_and_get_session(client, products["MUG"], 1)
    result = sandbox.pay(paid)
    assert follow_success(client, result.redirect_url).status_code == 200
    assert all(d.ok for d in sandbox.deliver_pending())
    place_and_get_session(client, products["PEN"], 1)
    with app.app_context():
        orders = db.session.scalars(select(Order).order_by(Order.id)).all()
        links = [f"/orders/{o.number}?t={access_token(o)}" for o in orders]
        number, token = orders[0].number, access_token(orders[0])
        waiting, waiting_token = orders[1].number, access_token(orders[1])
        slug = db.session.get(Product, products["MUG"]).slug
        events = db.session.scalars(select(WebhookEvent.event_id)).all()
        db.session.remove()
    order_pages = [*links, f"/orders/{number}/invoice?t={token}",
                   f"/orders/{number}/new-link", f"/products/{slug}",
                   f"/checkout/orders/{waiting}/pay?t={waiting_token}",
                   f"/checkout/orders/{number}/pay?t={token}",
                   f"/checkout/orders/{waiting}/restore?t=bad"]
    staff_pages = [f"/staff/orders/{number}", f"/staff/orders/{number}/refund",
                   f"/staff/orders/{waiting}", f"/staff/products/{products['MUG']}",
                   f"/staff/products/{products['MUG']}/stock",
                   *(f"/staff/webhooks/{e}" for e in events)]
    return order_pages, staff_pages


def _visit(client, paths) -> list:
    problems = []
    for path in paths:
        for method in ("GET", "HEAD"):
            try:
                response = client.open(path, method=method)
                if response.status_code >= 500:
                    problems.append((method, path, response.status_code))
                response.close()
            except Exception as exc:  # the test app propagates what would be a 500
                problems.append((method, path, f"{type(exc).__name__}: {exc}"[:200]))
    return problems


def test_every_get_page_answers_without_a_write_in_its_read_only_transaction(
    app, client, shop_state
):
    order_pages, staff_pages = shop_state
    problems = _visit(client, SHOP_PAGES + order_pages)
    shopper = _account(app, "shopper@example.com", "shopper")
    problems += _visit(shopper, SHOP_PAGES + ACCOUNT_PAGES + order_pages)
    admin = _account(app, "admin@example.com", "admin")
    problems += _visit(admin, STAFF_PAGES + staff_pages + order_pages)
    assert problems == []
