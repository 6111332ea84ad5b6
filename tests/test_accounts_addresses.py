"""The address a signed-in shopper shipped to is offered at the next checkout and can be deleted."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from checkout.extensions import db
from checkout.models import Address
from checkout.services import addresses
from tests.accounts_support import make_shopper, signed_in_browser
from tests.conftest import csrf_token
from tests.shop import ADDRESS, add_to_cart, session_id_of, submit_checkout
from tests.state import text_of

EMAIL = "ada@example.com"


def value_of(page: str, name: str) -> str | None:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', page)
    return match.group(1) if match else None


def selected_country(page: str) -> str | None:
    match = re.search(r'<option selected value="([A-Z]{2})"', page) or re.search(
        r'<option value="([A-Z]{2})" selected', page)
    return match.group(1) if match else None


def place(client, product_id: int, **overrides) -> None:
    assert add_to_cart(client, product_id).status_code == 303
    session_id_of(submit_checkout(client, **overrides))


def saved_count(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Address))
        db.session.remove()
    return count


def test_the_last_address_is_offered_at_the_next_checkout(app, products):
    make_shopper(app, EMAIL)
    browser = signed_in_browser(app, EMAIL)
    place(browser, products["MUG"])
    place(browser, products["MUG"], name="Ada King", line1="1 Difference Lane")

    add_to_cart(browser, products["MUG"])
    page = browser.get("/checkout/").get_data(as_text=True)
    assert value_of(page, "name") == "Ada King"
    assert value_of(page, "line1") == "1 Difference Lane"
    for field in ("line2", "city", "postal_code"):
        assert value_of(page, field) == ADDRESS[field]
    assert selected_country(page) == "US"
    assert saved_count(app) == 2


def test_shipping_to_the_same_address_again_saves_it_once(app, products):
    make_shopper(app, EMAIL)
    browser = signed_in_browser(app, EMAIL)
    place(browser, products["MUG"])
    place(browser, products["MUG"], city="SPRINGFIELD ")
    assert saved_count(app) == 1
    assert "SPRINGFIELD" in text_of(browser.get("/account/addresses"))


def test_a_guest_checkout_saves_no_address_and_a_guest_form_is_empty(app, client, products):
    place(client, products["MUG"])
    assert saved_count(app) == 0
    add_to_cart(client, products["MUG"])
    page = client.get("/checkout/").get_data(as_text=True)
    assert value_of(page, "line1") in (None, "")


def test_a_shopper_sees_and_deletes_a_saved_address(app, products):
    make_shopper(app, EMAIL)
    browser = signed_in_browser(app, EMAIL)
    place(browser, products["MUG"])
    listing = browser.get("/account/addresses")
    assert listing.status_code == 200 and ADDRESS["line1"] in text_of(listing)
    with app.app_context():
        address_id = db.session.scalar(select(Address.id))
        db.session.remove()

    deleted = browser.post(f"/account/addresses/{address_id}/delete",
                           data={"csrf_token": csrf_token(browser, "/account/addresses")})

    assert deleted.status_code == 303
    assert saved_count(app) == 0
    assert ADDRESS["line1"] not in text_of(browser.get("/account/addresses"))
    add_to_cart(browser, products["MUG"])
    assert value_of(browser.get("/checkout/").get_data(as_text=True), "line1") in (None, "")


def test_deleting_another_shoppers_address_is_a_404_and_deletes_nothing(app, products):
    make_shopper(app, EMAIL)
    place(signed_in_browser(app, EMAIL), products["MUG"])
    with app.app_context():
        address_id = db.session.scalar(select(Address.id))
        db.session.remove()
    make_shopper(app, "mallory@example.com")
    mallory = signed_in_browser(app, "mallory@example.com")
    token = csrf_token(mallory, "/account/addresses")

    assert mallory.post(f"/account/addresses/{address_id}/delete",
                        data={"csrf_token": token}).status_code == 404
    assert mallory.post("/account/addresses/999999/delete",
                        data={"csrf_token": token}).status_code == 404
    assert ADDRESS["line1"] not in text_of(mallory.get("/account/addresses"))
    assert saved_count(app) == 1


def test_deleting_needs_a_csrf_token_and_a_signed_in_browser(app, client, products):
    make_shopper(app, EMAIL)
    browser = signed_in_browser(app, EMAIL)
    place(browser, products["MUG"])
    with app.app_context():
        address_id = db.session.scalar(select(Address.id))
        db.session.remove()
    assert browser.post(f"/account/addresses/{address_id}/delete").status_code == 400
    signed_out = client.post(f"/account/addresses/{address_id}/delete",
                             data={"csrf_token": csrf_token(client)})
    assert signed_out.status_code == 302
    assert saved_count(app) == 1


def test_the_same_address_saved_by_many_orders_at_once_is_one_row_and_fails_none(app):
    user_id = make_shopper(app, EMAIL)
    barrier = threading.Barrier(8)

    def save(_) -> None:
        with app.app_context():
            barrier.wait()
            addresses.remember(user_id, name="Ada", line1="1 Row", line2="", city="Town",
                               postal_code="12345", country="US")
            db.session.commit()
            db.session.remove()

    # map() re-raises here whatever a thread raised: any failed save fails the test.
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(save, range(8)))
    assert saved_count(app) == 1
