"""Order tracking: guests through the signed link, owners through their account, staff; else 404."""

import re

import pytest
from flask.testing import FlaskClient

from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.services import orders
from checkout.services.accounts import create_staff, register_shopper
from tests.conftest import csrf_token
from tests.shop import follow_success, place_and_get_session
from tests.state import guest_token, only_order, text_of

PASSWORD = "correct horse battery"
NO_ORDER = "We could not find that order."


def sign_in(client: FlaskClient, email: str) -> None:
    response = client.post(
        "/account/login",
        data={"csrf_token": csrf_token(client), "email": email, "password": PASSWORD},
    )
    assert response.status_code == 303, text_of(response)


def make_shopper(app, email: str) -> None:
    with app.app_context():
        assert register_shopper(email, PASSWORD) is not None
        db.session.remove()


def order_link_on(page: str) -> str:
    """The tracking link the success page shows, as a path with its query."""
    [href] = set(re.findall(r'href="(/orders/[^"]+)"', page))
    return href.replace("&amp;", "&")


@pytest.fixture
def guest_order(app, client, sandbox, products) -> tuple[str, str]:
    """A guest paid for two mugs; returns (order number, the link from the success page)."""
    session_id = place_and_get_session(client, products["MUG"], 2)
    result = sandbox.pay(session_id)
    page = follow_success(client, result.redirect_url)
    return only_order(app).number, order_link_on(page.get_data(as_text=True))


def test_a_guest_with_the_link_from_the_success_page_sees_the_whole_order(app, guest_order):
    number, link = guest_order
    assert link.startswith(f"/orders/{number}?t=")
    # The link is the key: it works in any browser, with no session behind it.
    response = app.test_client().get(link)
    assert response.status_code == 200
    page = text_of(response)
    assert f"Order {number}" in page
    assert "Payment confirmed" in page
    assert "Order placed; awaiting payment." in page  # the timeline
    assert "Stoneware Mug" in page and "$48.00" in page  # lines and totals
    for part in ("Ada Lovelace", "12 Analytical Row", "Flat 3", "Springfield", "12345",
                 "United States"):
        assert part in page
    assert "tracking number" not in page


@pytest.mark.parametrize("token", ["none", "empty", "tampered", "another order's", "garbage"])
def test_the_order_page_without_its_own_token_is_a_404(app, client, products, guest_order,
                                                         token):
    number, link = guest_order
    own = link.split("?t=", 1)[1]
    if token == "another order's":
        place_and_get_session(app.test_client(), products["PEN"], 1)
        with app.app_context():
            other = next(o for o in orders_all() if o.number != number)
            sent = orders.access_token(other)
            db.session.remove()
    else:
        sent = {"none": None, "empty": "", "tampered": own[:-3] + ("xyz" if own[-3:] != "xyz"
                                                                     else "abc"),
                "garbage": "abc.def"}[token]
    path = f"/orders/{number}" if sent is None else f"/orders/{number}?t={sent}"
    response = app.test_client().get(path)
    assert response.status_code == 404
    assert NO_ORDER in text_of(response)


def orders_all():
    from sqlalchemy import select

    from checkout.models import Order

    return list(db.session.scalars(select(Order)))


def test_a_token_works_only_for_the_order_it_was_made_for(app, products, guest_order):
    number, _ = guest_order
    place_and_get_session(app.test_client(), products["PEN"], 1)
    with app.app_context():
        other = next(o for o in orders_all() if o.number != number).number
        db.session.remove()
    # Swap the numbers: each token opens its own order only.
    assert app.test_client().get(f"/orders/{other}?t={guest_token(app, number)}").status_code \
        == 404
    assert app.test_client().get(f"/orders/{other}?t={guest_token(app, other)}").status_code \
        == 200


@pytest.fixture
def owners_order(app, client, sandbox, products) -> str:
    """Grace signed in and placed an order; returns its number."""
    make_shopper(app, "grace@example.com")
    sign_in(client, "grace@example.com")
    place_and_get_session(client, products["PEN"], 2)
    with app.app_context():
        [order] = [o for o in orders_all() if o.user_id is not None]
        db.session.remove()
        return order.number


def test_a_signed_in_owner_reaches_the_order_from_the_account_without_a_token(
    app, client, owners_order
):
    listing = text_of(client.get("/account/orders"))
    assert f'href="/orders/{owners_order}"' in listing
    response = client.get(f"/orders/{owners_order}")
    assert response.status_code == 200
    page = text_of(response)
    assert f"Order {owners_order}" in page and "Brass Pen" in page and "$25.00" in page


def test_the_owner_signed_out_needs_the_link_like_anyone_else(app, client, owners_order):
    assert client.post("/account/logout",
                       data={"csrf_token": csrf_token(client)}).status_code == 303
    assert client.get(f"/orders/{owners_order}").status_code == 404
    assert client.get(f"/orders/{owners_order}?t={guest_token(app, owners_order)}") \
        .status_code == 200


def test_another_signed_in_shopper_gets_a_404_and_no_listing(app, owners_order):
    make_shopper(app, "mallory@example.com")
    mallory = app.test_client()
    sign_in(mallory, "mallory@example.com")
    response = mallory.get(f"/orders/{owners_order}")
    assert response.status_code == 404
    assert NO_ORDER in text_of(response)
    assert owners_order not in text_of(mallory.get("/account/orders"))
    pay = mallory.get(f"/checkout/orders/{owners_order}/pay")
    assert pay.status_code == 404


def test_a_signed_in_shopper_cannot_see_a_guest_order_without_its_link(app, guest_order):
    number, _ = guest_order
    make_shopper(app, "mallory@example.com")
    mallory = app.test_client()
    sign_in(mallory, "mallory@example.com")
    assert mallory.get(f"/orders/{number}").status_code == 404


def test_staff_see_any_order_without_a_token(app, guest_order, owners_order):
    number, _ = guest_order
    with app.app_context():
        create_staff("staff@example.com", PASSWORD)
        db.session.remove()
    staff = app.test_client()
    sign_in(staff, "staff@example.com")
    for each in (number, owners_order):
        response = staff.get(f"/orders/{each}")
        assert response.status_code == 200
        assert f"Order {each}" in text_of(response)


def test_tracking_carrier_and_number_are_shown_once_shipped(app, client, guest_order):
    number, link = guest_order
    with app.app_context():
        order = orders.find_order(number)
        order.transition_to(OrderStatus.AWAITING_SHIPMENT, actor="staff")
        order.transition_to(OrderStatus.SHIPPED, actor="staff", message="Handed to UPS.")
        order.tracking_carrier, order.tracking_number = "UPS", "1Z999AA10123456784"
        db.session.commit()
    page = text_of(app.test_client().get(link))
    assert "Shipped with UPS · tracking number 1Z999AA10123456784" in re.sub(r"<[^>]+>", "", page)
    assert "Your order is on its way." in page  # the timeline, in the shopper's words
    assert re.search(r'class="status status-shipped">Shipped<', page)


def test_the_success_page_shows_the_order_link_only_to_the_browser_that_placed_it(
    app, client, sandbox, products
):
    from tests.shop import follow_success, place_and_get_session

    session_id = place_and_get_session(client, products["MUG"], 1)
    result = sandbox.pay(session_id)
    assert "?t=" in follow_success(client, result.redirect_url).get_data(as_text=True)
    stranger = app.test_client()
    page = follow_success(stranger, result.redirect_url).get_data(as_text=True)
    assert "Thanks — your payment is being processed" in page
    assert "?t=" not in page
    assert "check your e-mail for the order details" in page
