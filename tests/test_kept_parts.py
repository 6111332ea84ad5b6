"""Parts of pages rendered once and kept by the exact data they show (checkout/web/fragments.py).

A kept part is only right if its key holds everything it shows: these tests change each thing
the catalog's part shows between two views and look for the change, and show that one
shopper's own part of a page is never handed to another.
"""

import os
import re

import pytest
from flask import template_rendered

from checkout.extensions import db
from checkout.web.fragments import KEPT_PARTS
from tests.accounts_support import make_shopper, signed_in_browser
from tests.factories import ProductFactory
from tests.shop import add_to_cart, place_and_get_session
from tests.state import change_product, text_of

PART = "catalog/_page.html"


@pytest.fixture
def rendered(app):
    """The names of the templates rendered while the test runs, from no kept parts (an
    earlier test's products may have been the same)."""
    app.extensions["kept_parts"].cache_clear()
    names: list[str] = []

    def note(sender, template, context, **extra):
        names.append(template.name)

    template_rendered.connect(note, app)
    yield names
    template_rendered.disconnect(note, app)


def test_the_same_catalog_page_is_rendered_once_and_shown_again(app, client, products, rendered):
    first = client.get("/").get_data(as_text=True)
    second = client.get("/").get_data(as_text=True)
    assert rendered.count(PART) == 1, rendered
    assert first == second
    assert "Stoneware Mug" in second and "24.00" in second


@pytest.mark.parametrize(("change", "shown"), [
    ({"price": 2750}, "27.50"),
    ({"title": "Stoneware Mug, glazed"}, "Stoneware Mug, glazed"),
    ({"on_hand": 2}, "Only 2 left"),
    ({"on_hand": 0}, "Sold out"),
    ({"slug": "mug-renamed"}, 'href="/products/mug-renamed"'),
])
def test_a_change_to_what_the_catalog_shows_is_shown_at_once(app, client, products, change,
                                                             shown):
    before = client.get("/").get_data(as_text=True)
    assert shown not in before
    change_product(app, products["MUG"], **change)
    assert shown in client.get("/").get_data(as_text=True)


def test_a_product_taken_off_sale_leaves_the_catalog_at_once(app, client, products):
    assert "Brass Pen" in text_of(client.get("/"))
    change_product(app, products["PEN"], is_active=False)
    assert "Brass Pen" not in text_of(client.get("/"))


def test_one_shoppers_unpaid_order_is_not_shown_to_another(app, sandbox, products):
    """The last vase is in A's order waiting for payment: A's catalog links to A's payment
    page; B sees it sold out, before and after A's page was kept."""
    shopper_a, shopper_b = app.test_client(), app.test_client()
    place_and_get_session(shopper_a, products["VASE"], 1)
    for browser in (shopper_b, shopper_a, shopper_b, shopper_a):
        page = browser.get("/").get_data(as_text=True)
        pay_links = re.findall(r'href="(/checkout/orders/[^"]+/pay\?t=[^"]+)"', page)
        if browser is shopper_a:
            assert "In your order waiting for payment" in page and len(pay_links) == 1
        else:
            assert "Sold out" in page and "In your order waiting for payment" not in page
            assert pay_links == []


def test_a_product_image_replaced_under_a_running_worker_gets_its_new_hash(
    app, client, tmp_path, monkeypatch
):
    image = tmp_path / "img" / "products" / "lamp.svg"
    image.parent.mkdir(parents=True)
    image.write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    monkeypatch.setattr(app, "static_folder", str(tmp_path))
    monkeypatch.setitem(app.extensions, "static_hashes", {})
    with app.app_context():
        ProductFactory(sku="LAMP", title="Desk lamp", image="img/products/lamp.svg")
        db.session.remove()
    old = re.search(r"lamp\.svg\?v=(\w+)", client.get("/").get_data(as_text=True)).group(1)
    image.write_text("<svg xmlns='http://www.w3.org/2000/svg'><circle r='4'/></svg>")
    later = os.stat(image).st_mtime_ns + 2_000_000_000
    os.utime(image, ns=(later, later))
    new = re.search(r"lamp\.svg\?v=(\w+)", client.get("/").get_data(as_text=True)).group(1)
    assert new != old


def test_links_follow_the_mount_point_the_page_is_served_under(app, client, products):
    plain = client.get("/").get_data(as_text=True)
    mounted = client.get("/", environ_overrides={"SCRIPT_NAME": "/shop"}).get_data(as_text=True)
    assert 'href="/products/' in plain and 'href="/shop/products/' not in plain
    assert 'href="/shop/products/' in mounted and 'href="/products/' not in mounted


def test_the_kept_parts_are_bounded(app, client):
    with app.app_context():
        for i in range(30):
            ProductFactory(sku=f"B{i:02}", title=f"Bound {i:02}")
        db.session.remove()
    kept = app.extensions["kept_parts"]
    for number in (1, 2, 3, 4):
        client.get(f"/?page={number}")
    info = kept.cache_info()
    assert info.maxsize == KEPT_PARTS and info.currsize <= KEPT_PARTS


def test_the_debug_server_renders_every_time(app, client, products, rendered, monkeypatch):
    monkeypatch.setattr(app, "debug", True)
    client.get("/")
    client.get("/")
    assert rendered.count(PART) == 2


def _header(page: str) -> str:
    return page.split('<header class="site-header">', 1)[1].split("</header>", 1)[0]


def test_a_guests_header_follows_the_cart_count(app, client, products):
    assert 'class="badge"' not in _header(client.get("/").get_data(as_text=True))
    add_to_cart(client, products["MUG"], 1)
    assert 'aria-label="1 item"' in _header(client.get("/").get_data(as_text=True))
    add_to_cart(client, products["MUG"], 2)
    assert 'aria-label="3 items"' in _header(client.get("/").get_data(as_text=True))
    # Another guest's empty cart is not the first guest's.
    assert 'class="badge"' not in _header(app.test_client().get("/").get_data(as_text=True))


def test_a_signed_in_header_is_never_shown_to_a_guest_nor_a_guests_to_them(app, products):
    make_shopper(app, "ada@example.com")
    guest = app.test_client()
    for browser in (guest, signed_in_browser(app, "ada@example.com"), guest):
        header = _header(browser.get("/").get_data(as_text=True))
        if browser is guest:
            assert "Sign in" in header and "Sign out" not in header
        else:
            assert "Sign out" in header and "My orders" in header and "Sign in" not in header
            assert re.search(r'name="csrf_token" value="[^"]+"', header)


def test_the_shop_name_in_the_header_follows_the_settings(app, client, monkeypatch):
    client.get("/")
    monkeypatch.setitem(app.config, "STORE_NAME", "Fernhill Supply")
    assert "Fernhill Supply" in _header(client.get("/").get_data(as_text=True))


def test_a_change_to_what_a_product_page_says_is_shown_at_once(app, client, products):
    page = client.get("/products/mug").get_data(as_text=True)
    assert "24.00" in page and "In stock" in page
    change_product(app, products["MUG"], price=2750, description="Now glazed inside.", on_hand=2)
    page = client.get("/products/mug").get_data(as_text=True)
    assert "27.50" in page and "Now glazed inside." in page and "Only 2 left" in page


def test_one_shoppers_unpaid_order_is_not_on_another_shoppers_product_page(app, sandbox,
                                                                          products):
    shopper_a, shopper_b = app.test_client(), app.test_client()
    place_and_get_session(shopper_a, products["VASE"], 1)
    for browser in (shopper_b, shopper_a, shopper_b):
        page = browser.get("/products/vase").get_data(as_text=True)
        if browser is shopper_a:
            assert "In your order waiting for payment" in page
        else:
            assert "Sold out" in page and "waiting for payment" not in page


def test_a_sale_that_leaves_the_badge_as_it_was_keeps_the_catalogs_part(app, client, products,
                                                                       rendered):
    """40 and 41 units both read "In stock": a flash sale does not re-render the page for each
    unit sold, only when what the badge says changes."""
    client.get("/")
    for on_hand in (19, 18, 6):
        change_product(app, products["MUG"], on_hand=on_hand)
        assert "Only" not in client.get("/").get_data(as_text=True).split("Stoneware Mug")[1][:200]
    assert rendered.count(PART) == 1
    change_product(app, products["MUG"], on_hand=5)
    assert "Only 5 left" in client.get("/").get_data(as_text=True)
    assert rendered.count(PART) == 2
