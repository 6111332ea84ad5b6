"""The checkout page never prices shipping the shopper has not chosen: before a method is
picked it says so, rather than "Free" and a total the payment page then exceeds."""

from checkout.extensions import db
from checkout.services.demo import load_demo_pricing
from tests.shop import add_to_cart, submit_checkout
from tests.test_discounts import visible


def _with_demo_shipping(app) -> None:
    with app.app_context():
        load_demo_pricing(prices_include_tax=False)
        db.session.remove()


def test_before_a_method_is_chosen_shipping_is_not_called_free(app, client, products):
    _with_demo_shipping(app)
    assert add_to_cart(client, products["MUG"], 1).status_code == 303  # $24.00, under $75
    page = visible(client.get("/checkout/"))
    assert "Shipping Added when you continue" in page
    assert "Shipping Free" not in page
    assert "Total before shipping $24.00" in page
    # The button promises no amount the payment page would then exceed.
    assert "Continue to payment ·" not in page
    # Nothing on the page updates when a method is picked (no script): the words must hold
    # before and after the shopper picks one, and say where the whole total is shown.
    assert "The total below" not in page
    assert "the payment page shows the total with shipping" in page


def test_once_a_method_is_chosen_its_fee_and_the_whole_total_are_shown(app, client, products):
    _with_demo_shipping(app)
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    # A form sent back for another field keeps the chosen method and prices it.
    page = visible(submit_checkout(client, shipping_method="express", name=""))
    assert "Shipping (Express) $14.95" in page
    assert "Total before shipping" not in page and "Added when you continue" not in page
    total = page.split("Continue to payment · ", 1)[1].split()[0]
    assert f"Total {total}" in page and total != "$24.00"


def test_a_shop_without_shipping_methods_ships_free(client, products):
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    page = visible(client.get("/checkout/"))
    assert "Shipping Free" in page and "Added when you continue" not in page
    assert "Continue to payment · $24.00" in page
