"""The checkout form tells the shopper its limits and tidies what it can."""

import re

from tests.shop import add_to_cart, submit_checkout
from tests.state import snapshot


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
