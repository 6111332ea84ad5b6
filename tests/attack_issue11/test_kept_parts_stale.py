"""Attack (issue 11): a kept part (checkout/web/fragments.py) follows every change of what it
shows. Guards for changes tests/test_kept_parts.py does not make: the shop's currency, a
product's image (a static file, then an upload), its title and stock on its own page, and a
product taken off sale while its page is kept. These hold today."""

import pytest

from tests.state import change_product


@pytest.mark.parametrize("path", ["/", "/products/mug"])
def test_the_currency_setting_is_followed(app, client, products, monkeypatch, path):
    assert "$24.00" in client.get(path).get_data(as_text=True)
    monkeypatch.setitem(app.config, "STORE_CURRENCY", "EUR")
    page = client.get(path).get_data(as_text=True)
    assert "$24.00" not in page and "24.00" in page


@pytest.mark.parametrize("path", ["/", "/products/mug"])
def test_a_new_image_is_followed(app, client, products, path):
    client.get(path)
    change_product(app, products["MUG"], image="favicon.svg")
    assert "/static/favicon.svg?v=" in client.get(path).get_data(as_text=True)
    upload = "uploads/" + "a" * 32 + ".png"
    change_product(app, products["MUG"], image=upload)
    page = client.get(path).get_data(as_text=True)
    assert "/uploads/" + "a" * 32 + ".png" in page and "favicon.svg?v=" not in page.split(
        "<main", 1)[1]


def test_a_product_pages_title_and_stock_are_followed(app, client, products):
    assert "In stock" in client.get("/products/mug").get_data(as_text=True)
    change_product(app, products["MUG"], title="Stoneware Mug, glazed", on_hand=0)
    page = client.get("/products/mug").get_data(as_text=True)
    assert "Stoneware Mug, glazed" in page and "Sold out" in page and "In stock" not in page


def test_a_kept_product_page_is_gone_once_the_product_is_off_sale(app, client, products):
    assert client.get("/products/mug").status_code == 200
    change_product(app, products["MUG"], is_active=False)
    response = client.get("/products/mug")
    assert response.status_code == 404
    assert "Stoneware Mug" not in response.get_data(as_text=True)
