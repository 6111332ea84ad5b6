"""After losing a race for the last units: the cart marks the line and checkout waits for a fix."""

import re

import pytest

from checkout.extensions import db
from checkout.models import Product
from tests.conftest import csrf_token
from tests.shop import ADDRESS, add_to_cart, checkout_form, place_and_get_session, submit_checkout
from tests.state import snapshot, text_of

BLOCKED = "to check out"


def words(response) -> str:
    """What a person reads on the page: tags dropped, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", text_of(response)).split())


def checkout_links(page: str) -> int:
    return len(re.findall(r'<a [^>]*href="/checkout/"', page))


@pytest.fixture
def loser(app, products):
    """A browser with the last vase and a mug in its cart; another browser then buys the vase."""
    browser = app.test_client()
    add_to_cart(browser, products["VASE"], 1)
    add_to_cart(browser, products["MUG"], 1)
    winner = app.test_client()
    place_and_get_session(winner, products["VASE"], 1)
    return browser


def test_the_cart_marks_a_sold_out_line_and_offers_to_remove_it(loser, products):
    page = loser.get("/cart/")
    said = words(page)
    assert "Hand-thrown Vase is sold out. Remove it to check out." in said
    assert f'action="/cart/lines/{products["VASE"]}/remove"' in text_of(page)
    # The mug is fine and not marked.
    assert "Stoneware Mug is sold out" not in said and "Stoneware Mug: only" not in said
    # No active "Check out": a disabled button and the reason instead.
    assert checkout_links(text_of(page)) == 0
    assert re.search(r"<button[^>]*disabled[^>]*>Check out</button>", text_of(page))
    assert "One item in your cart is not available in the quantity you chose." in said


def test_a_line_with_fewer_units_left_offers_to_lower_it(app, client, products):
    add_to_cart(client, products["PEN"], 3)
    place_and_get_session(app.test_client(), products["PEN"], 2)
    page = client.get("/cart/")
    said = words(page)
    assert "Brass Pen: only 1 left, and you have 3 in your cart." in said
    lower = re.search(rf'<form method="post" action="/cart/lines/{products["PEN"]}" '
                      r'class="inline">\s*<input type="hidden" name="csrf_token" value="[^"]+">'
                      r'\s*<input type="hidden" name="quantity" value="1">', text_of(page))
    assert lower, text_of(page)
    assert "Change to 1" in said
    response = client.post(f"/cart/lines/{products['PEN']}",
                           data={"csrf_token": csrf_token(client, "/cart/"), "quantity": "1"})
    assert response.status_code == 303
    fixed = client.get("/cart/")
    assert "only 1 left, and you have" not in words(fixed)
    assert checkout_links(text_of(fixed)) == 1


def test_two_short_lines_are_counted_in_the_words(app, client, products):
    add_to_cart(client, products["PEN"], 3)
    add_to_cart(client, products["VASE"], 1)
    rival = app.test_client()
    add_to_cart(rival, products["PEN"], 1)
    place_and_get_session(rival, products["VASE"], 1)
    said = words(client.get("/cart/"))
    assert "2 items in your cart are not available in the quantity you chose." in said


def test_the_checkout_page_refuses_a_short_cart_and_sends_the_shopper_back(app, loser):
    before = snapshot(app)
    response = loser.get("/checkout/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/cart/")
    said = words(loser.get("/cart/"))
    assert ("Your cart needs a change before you can check out. "
            "Hand-thrown Vase: you asked for 1, sold out.") in said
    assert snapshot(app) == before


def test_a_product_taken_off_sale_is_marked_and_refused_too(app, client, products):
    add_to_cart(client, products["MUG"], 1)
    with app.app_context():
        db.session.get(Product, products["MUG"]).is_active = False
        db.session.commit()
        db.session.remove()
    said = words(client.get("/cart/"))
    assert "Stoneware Mug is no longer for sale. Remove it to check out." in said
    assert client.get("/checkout/").status_code == 302


def test_losing_the_race_at_submit_keeps_the_address_for_after_the_cart_is_fixed(
    app, products, loser
):
    # The loser had opened the checkout page before the vase went: it was offered then.
    hidden = {"csrf_token": csrf_token(loser, "/cart/"), "checkout_token": "a-token-for-this-form"}
    refused = submit_checkout(loser, hidden, name="Brook Taylor")
    assert refused.status_code == 409
    assert 'value="Brook Taylor"' in text_of(refused)
    assert "Hand-thrown Vase: you asked for 1, sold out." in words(refused)
    assert "Hand-thrown Vase is sold out. Remove it to check out." in words(loser.get("/cart/"))

    loser.post(f"/cart/lines/{products['VASE']}/remove",
               data={"csrf_token": csrf_token(loser, "/cart/")})
    form = text_of(loser.get("/checkout/"))
    assert 'value="Brook Taylor"' in form
    assert f'value="{ADDRESS["line1"]}"' in form and f'value="{ADDRESS["email"]}"' in form

    # Once an order is placed the typed address is forgotten by the form.
    placed = submit_checkout(loser, checkout_form(loser), name="Brook Taylor")
    assert placed.status_code == 303
    add_to_cart(loser, products["PEN"], 1)
    assert 'value="Brook Taylor"' not in text_of(loser.get("/checkout/"))
