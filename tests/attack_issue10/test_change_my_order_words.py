""""Change my order" says what it could not put back, rather than "its items are back"."""

import re

from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import Product
from tests.conftest import csrf_token
from tests.shop import add_to_cart, place_and_get_session
from tests.state import guest_token, only_order, text_of


def _take_off_sale(app, product_id: int) -> None:
    with app.app_context():
        db.session.get(Product, product_id).is_active = False
        db.session.commit()
        db.session.remove()


def test_an_item_taken_off_sale_meanwhile_is_named_not_said_to_be_back(app, client, products):
    add_to_cart(client, products["MUG"], 2)
    place_and_get_session(client, products["VASE"], 1)
    number = only_order(app).number
    _take_off_sale(app, products["MUG"])
    response = client.post(f"/checkout/orders/{number}/cancel?t={guest_token(app, number)}",
                           data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/cart/")
    assert only_order(app).status == OrderStatus.CANCELLED
    cart = " ".join(re.sub(r"<[^>]+>", " ", text_of(client.get("/cart/"))).split())
    assert f"Order {number} was cancelled." in cart
    assert "No longer for sale, so not put back: Stoneware Mug." in cart
    assert "its items are back in your cart" not in cart
    assert re.search(rf'id="qty-{products["VASE"]}"', text_of(client.get("/cart/")))


def test_an_order_whose_items_all_came_back_says_so(app, client, products):
    place_and_get_session(client, products["VASE"], 1)
    number = only_order(app).number
    client.post(f"/checkout/orders/{number}/cancel?t={guest_token(app, number)}",
                data={"csrf_token": csrf_token(client)})
    cart = " ".join(re.sub(r"<[^>]+>", " ", text_of(client.get("/cart/"))).split())
    assert f"Order {number} was cancelled and its items are back in your cart." in cart
    assert "No longer for sale" not in cart
