"""A refused add-to-cart: post/redirect/get back to the product page, the error said once.

The page it used to answer with sat at /cart/add, so a reload asked to post again (or met a
405), and the message appeared twice: in a banner and again under the field.
"""

import pytest

from checkout.extensions import db
from checkout.models import Product
from tests.shop import add_to_cart
from tests.state import snapshot


def slug_of(app, product_id: int) -> str:
    with app.app_context():
        slug = db.session.get(Product, product_id).slug
        db.session.remove()
    return slug


@pytest.mark.parametrize(("product", "quantity", "message"), [
    ("MUG", "0", "Choose between 1 and 99."),
    ("MUG", "abc", "Not a valid integer value."),
    ("VASE", "2", "Not enough stock. Hand-thrown Vase: you asked for 2, only 1 left."),
], ids=["out of range", "not a number", "more than in stock"])
def test_a_refused_add_redirects_to_the_product_with_the_error_once_and_the_quantity_kept(
        app, client, products, product, quantity, message):
    before = snapshot(app)
    response = add_to_cart(client, products[product], quantity)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/products/{slug_of(app, products[product])}"
    assert snapshot(app) == before

    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert body.count(message) == 1, body
    assert f'value="{quantity}"' in body  # what the shopper typed, to correct it
    # Read once: a reload shows the plain product page, default quantity.
    again = client.get(response.headers["Location"]).get_data(as_text=True)
    assert message not in again and 'value="1"' in again
