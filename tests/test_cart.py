"""The cart through the browser: add, change, remove; stock limits; cookie and account carts."""

import re

from flask.testing import FlaskClient
from sqlalchemy import func, select

from checkout.extensions import db
from checkout.models import Cart, CartLine, Product
from checkout.services.accounts import register_shopper
from tests.conftest import csrf_token
from tests.shop import add_to_cart, checkout_form, session_id_of, submit_checkout
from tests.state import only_order, snapshot, text_of

PASSWORD = "correct horse battery"


def set_quantity(client: FlaskClient, product_id: int, quantity: str):
    return client.post(f"/cart/lines/{product_id}",
                       data={"csrf_token": csrf_token(client), "quantity": quantity})


def remove(client: FlaskClient, product_id: int):
    return client.post(f"/cart/lines/{product_id}/remove",
                       data={"csrf_token": csrf_token(client)})


def cart_lines(app) -> dict[int, int]:
    """product id → quantity over every cart line in the database."""
    with app.app_context():
        lines = {line.product_id: line.quantity for line in db.session.scalars(select(CartLine))}
        db.session.remove()
    return lines


def quantity_shown(page: str, product_id: int) -> str:
    match = re.search(rf'id="qty-{product_id}" name="quantity"[^>]* value="(\d+)"', page)
    assert match, page
    return match.group(1)


def sign_in(client: FlaskClient, email: str):
    return client.post("/account/login", data={"csrf_token": csrf_token(client), "email": email,
                                               "password": PASSWORD})


def test_adding_shows_the_line_with_its_total_and_a_count(app, client, products):
    response = add_to_cart(client, products["MUG"], 2)
    assert response.status_code == 303 and response.headers["Location"].endswith("/cart/")
    page = text_of(client.get("/cart/"))
    assert "Added 2 × Stoneware Mug to your cart." in page
    assert quantity_shown(page, products["MUG"]) == "2"
    assert "$48.00" in page
    assert 'aria-label="2 items"' in page
    assert cart_lines(app) == {products["MUG"]: 2}


def test_adding_the_same_product_again_adds_to_its_line(app, client, products):
    add_to_cart(client, products["MUG"], 2)
    add_to_cart(client, products["MUG"], 3)
    assert cart_lines(app) == {products["MUG"]: 5}


def test_changing_the_quantity_updates_the_line_and_total(app, client, products):
    add_to_cart(client, products["MUG"], 2)
    response = set_quantity(client, products["MUG"], "5")
    assert response.status_code == 303
    page = text_of(client.get("/cart/"))
    assert "Your cart was updated." in page
    assert quantity_shown(page, products["MUG"]) == "5"
    assert "$120.00" in page
    assert cart_lines(app) == {products["MUG"]: 5}


def test_setting_the_quantity_to_zero_removes_the_line(app, client, products):
    add_to_cart(client, products["MUG"], 2)
    add_to_cart(client, products["PEN"], 1)
    assert set_quantity(client, products["MUG"], "0").status_code == 303
    assert cart_lines(app) == {products["PEN"]: 1}
    assert "Stoneware Mug" not in text_of(client.get("/cart/"))


def test_removing_a_line_leaves_the_others(app, client, products):
    add_to_cart(client, products["MUG"], 2)
    add_to_cart(client, products["PEN"], 1)
    assert remove(client, products["PEN"]).status_code == 303
    page = text_of(client.get("/cart/"))
    assert "The item was removed from your cart." in page
    assert "Brass Pen" not in page and "Stoneware Mug" in page
    assert cart_lines(app) == {products["MUG"]: 2}


def test_removing_the_last_line_shows_an_empty_cart(app, client, products):
    add_to_cart(client, products["VASE"], 1)
    remove(client, products["VASE"])
    assert "Your cart is empty." in text_of(client.get("/cart/"))


def test_asking_for_more_than_is_left_says_how_many_and_changes_nothing(app, client, products):
    add_to_cart(client, products["PEN"], 2)
    before = snapshot(app)
    response = set_quantity(client, products["PEN"], "4")
    assert response.status_code == 409
    page = text_of(response)
    assert "Not enough stock. Brass Pen: you asked for 4, only 3 left." in page
    assert quantity_shown(page, products["PEN"]) == "2"
    assert snapshot(app) == before

    response = refused_add(client, add_to_cart(client, products["VASE"], 2))
    assert "Hand-thrown Vase: you asked for 2, only 1 left." in text_of(response)
    assert snapshot(app) == before


def refused_add(client, response):
    """Post/redirect/get: a refused add goes back to the product page, which says why."""
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/products/")
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    return page


def test_stock_held_by_someone_elses_checkout_is_not_offered(app, client, products):
    other = app.test_client()
    add_to_cart(other, products["PEN"], 2)
    session_id_of(submit_checkout(other))
    response = refused_add(client, add_to_cart(client, products["PEN"], 2))
    assert "Brass Pen: you asked for 2, only 1 left." in text_of(response)
    assert add_to_cart(client, products["PEN"], 1).status_code == 303


def test_a_sold_out_product_says_so(app, client, products):
    other = app.test_client()
    add_to_cart(other, products["VASE"], 1)
    session_id_of(submit_checkout(other))
    response = refused_add(client, add_to_cart(client, products["VASE"], 1))
    assert "Hand-thrown Vase: you asked for 1, sold out." in text_of(response)


def test_the_guest_cart_lives_in_the_database_behind_a_cookie(app, client, products):
    add_to_cart(client, products["MUG"], 2)
    cookie = client.get_cookie("cart")
    assert cookie is not None and cookie.http_only
    with app.app_context():
        cart = db.session.scalar(select(Cart))
        assert (cart.token, cart.user_id) == (cookie.value, None)
        db.session.remove()
    # Later requests, and another browser given the same cookie, see the same cart.
    assert quantity_shown(client.get("/cart/").get_data(as_text=True), products["MUG"]) == "2"
    same_browser_later = app.test_client()
    same_browser_later.set_cookie("cart", cookie.value)
    assert "Stoneware Mug" in text_of(same_browser_later.get("/cart/"))
    assert "Your cart is empty." in text_of(app.test_client().get("/cart/"))


def test_signing_in_merges_the_guest_cart_into_the_accounts_cart(app, client, products):
    with app.app_context():
        register_shopper("grace@example.com", PASSWORD)
        db.session.remove()
    # Earlier, signed in elsewhere, Grace left a mug and a pen in her account's cart.
    elsewhere = app.test_client()
    assert sign_in(elsewhere, "grace@example.com").status_code == 303
    add_to_cart(elsewhere, products["MUG"], 1)
    add_to_cart(elsewhere, products["PEN"], 1)
    # Now, as a guest, three mugs and the vase.
    add_to_cart(client, products["MUG"], 3)
    add_to_cart(client, products["VASE"], 1)
    assert sign_in(client, "grace@example.com").status_code == 303

    assert cart_lines(app) == {products["MUG"]: 3, products["PEN"]: 1, products["VASE"]: 1}
    with app.app_context():
        [cart] = db.session.scalars(select(Cart))
        assert cart.user_id is not None
        db.session.remove()
    # Both browsers now see the one account cart.
    for browser in (client, elsewhere):
        page = browser.get("/cart/").get_data(as_text=True)
        assert quantity_shown(page, products["MUG"]) == "3"
        assert "Hand-thrown Vase" in page and "Brass Pen" in page


def test_signing_in_with_no_account_cart_takes_over_the_guest_cart(app, client, products):
    with app.app_context():
        register_shopper("grace@example.com", PASSWORD)
        db.session.remove()
    add_to_cart(client, products["MUG"], 2)
    assert sign_in(client, "grace@example.com").status_code == 303
    with app.app_context():
        [cart] = db.session.scalars(select(Cart))
        assert cart.user_id is not None
        db.session.remove()
    assert cart_lines(app) == {products["MUG"]: 2}
    # Signing out leaves the cart with the account, not in the browser.
    client.post("/account/logout", data={"csrf_token": csrf_token(client)})
    assert "Your cart is empty." in text_of(client.get("/cart/"))
    assert sign_in(client, "grace@example.com").status_code == 303
    assert "Stoneware Mug" in text_of(client.get("/cart/"))


def test_the_cart_and_the_order_use_todays_database_price(app, client, sandbox, products):
    add_to_cart(client, products["MUG"], 2)
    assert "$48.00" in text_of(client.get("/cart/"))
    with app.app_context():
        db.session.get(Product, products["MUG"]).price = 3000
        db.session.commit()
    page = text_of(client.get("/cart/"))
    assert "$30.00" in page and "$60.00" in page and "$48.00" not in page
    session_id = session_id_of(submit_checkout(client, price="1", total="1"))
    order = only_order(app)
    assert (order.subtotal, order.total) == (6000, 6000)
    assert sandbox.retrieve_session(session_id)["amount_total"] == 6000


def test_an_inactive_product_cannot_be_added_or_seen(app, client, products):
    with app.app_context():
        db.session.get(Product, products["MUG"]).is_active = False
        db.session.commit()
    response = add_to_cart(client, products["MUG"], 1)
    assert response.status_code == 404
    assert "That product is not for sale." in text_of(response)
    assert client.get("/products/mug").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Cart)) == 0


def test_a_product_withdrawn_after_adding_is_not_ordered(app, client, products):
    add_to_cart(client, products["MUG"], 1)
    hidden = checkout_form(client)  # the form was open when the product was withdrawn
    with app.app_context():
        db.session.get(Product, products["MUG"]).is_active = False
        db.session.commit()
    before = snapshot(app)
    response = submit_checkout(client, hidden)
    assert response.status_code == 409
    assert "Stoneware Mug: you asked for 1, sold out." in text_of(response)
    assert snapshot(app) == before
