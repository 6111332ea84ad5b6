"""The checkout form tells the shopper its limits and tidies what it can."""

import re

import pytest

from checkout.domain.addresses import normalise_postal_code
from tests.shop import add_to_cart, submit_checkout
from tests.state import only_order, snapshot


def input_tag(page: str, name: str) -> str:
    [tag] = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page)
    return tag


def test_the_name_field_states_its_limit_and_is_not_cut_silently(client, products):
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    page = client.get("/checkout/").get_data(as_text=True)
    assert "Up to 120 characters" in page
    tag = input_tag(page, "name")
    # maxlength would make the browser drop what does not fit without a word.
    assert "maxlength" not in tag
    assert 'aria-describedby="name-help"' in tag


def test_a_name_over_the_limit_is_refused_saying_how_long_it_is(app, client, products):
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    before = snapshot(app)
    response = submit_checkout(client, name="A" * 130)
    assert response.status_code == 422
    assert "Keep the name to 120 characters: this one has 130." in response.get_data(as_text=True)
    assert snapshot(app) == before


@pytest.mark.parametrize(("country", "typed", "kept"), [
    ("GB", "sw1a1aa", "SW1A 1AA"),
    ("GB", " SW1A  1AA ", "SW1A 1AA"),
    ("GB", "m11ae", "M1 1AE"),
    ("CA", "k1a0b1", "K1A 0B1"),
    ("NL", "1234ab", "1234 AB"),
    ("JP", "1000001", "100-0001"),
    ("IE", "d02x285", "D02 X285"),
    ("SE", "11455", "114 55"),
    ("CZ", "11000", "110 00"),
    ("PL", "00950", "00-950"),
    ("PT", "1000001", "1000-001"),
    ("US", "12345-6789", "12345-6789"),
    ("DE", "10115", "10115"),
    ("CH", "8001", "8001"),
])
def test_postal_codes_are_written_the_way_the_country_writes_them(country, typed, kept):
    assert normalise_postal_code(country, typed) == kept


def test_an_order_keeps_the_postal_code_in_its_country_s_form(app, client, products):
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    response = submit_checkout(client, country="GB", city="London", postal_code="sw1a1aa")
    assert response.status_code == 303, response.get_data(as_text=True)
    assert only_order(app).ship_postal_code == "SW1A 1AA"
