"""A shipping method the shop does not offer, posted to the checkout: a 4xx or ignored, never
a 500. PostgreSQL cannot even look up a code holding a NUL byte, and the checkout looked up
whatever was posted, with or without methods to choose from."""

import pytest

from checkout.extensions import db
from checkout.models import ShippingOption
from tests.hostile.conftest import all_rows
from tests.shop import add_to_cart, checkout_form, submit_checkout

POSTED = ["\x00", "standard\x00", "x" * 10_000, "unknown", ""]


@pytest.mark.parametrize("offered", [False, True], ids=["no methods", "methods offered"])
@pytest.mark.parametrize("posted", POSTED, ids=["NUL", "code+NUL", "10k", "unknown", "empty"])
def test_a_shipping_method_not_offered_is_never_looked_up(app, client, products, offered,
                                                          posted):
    if offered:
        with app.app_context():
            db.session.add(ShippingOption(code="standard", name="Standard", amount=595,
                                          countries=""))
            db.session.commit()
            db.session.remove()
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    hidden = checkout_form(client)
    before = all_rows(app)
    response = submit_checkout(client, hidden, shipping_method=posted)
    if offered:
        assert response.status_code == 422, response.get_data(as_text=True)[:2000]
        assert all_rows(app) == before
    else:
        # Nothing to choose: what was posted is ignored and the order is placed.
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]


def test_an_invalid_address_with_a_nul_shipping_method_is_shown_again(app, client, products):
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    response = submit_checkout(client, shipping_method="\x00", postal_code="")
    assert response.status_code == 422
    assert "Enter the postal code." in response.get_data(as_text=True)


COUNTRIES = ["\x00", "US\x00", "x" * 10_000, "ZZ"]


@pytest.mark.parametrize("posted", COUNTRIES, ids=["NUL", "code+NUL", "10k", "unknown"])
def test_a_country_not_shipped_to_is_refused_before_it_prices_anything(app, client, products,
                                                                        posted):
    # The page shown again was priced for whatever country was posted: PostgreSQL refuses to
    # compare a NUL byte with the tax rules' countries, so that was a 500.
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    hidden = checkout_form(client)
    before = all_rows(app)
    response = submit_checkout(client, hidden, country=posted)
    assert response.status_code == 422, response.get_data(as_text=True)[:2000]
    assert "choose a country from the list" in response.get_data(as_text=True)
    assert all_rows(app) == before
