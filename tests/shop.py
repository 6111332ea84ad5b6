"""Drive the shop like a browser does: real forms, real CSRF tokens, the sandbox to pay."""

import re
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient

from tests.conftest import BASE_URL, csrf_token

ADDRESS = {
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "line1": "12 Analytical Row",
    "line2": "Flat 3",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def add_to_cart(client: FlaskClient, product_id: int, quantity: int = 1, **extra):
    token = csrf_token(client)
    data = {"csrf_token": token, "product_id": str(product_id), "quantity": str(quantity)}
    data.update(extra)
    return client.post("/cart/add", data=data)


def checkout_form(client: FlaskClient) -> dict[str, str]:
    """Open the checkout page and return the hidden fields it carries."""
    page = client.get("/checkout/").get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|checkout_token)" type="hidden" value="([^"]+)"',
                             page))
    assert set(fields) == {"csrf_token", "checkout_token"}, page
    return fields


def submit_checkout(client: FlaskClient, hidden: dict[str, str] | None = None, **overrides):
    data = dict(hidden or checkout_form(client))
    data.update(ADDRESS)
    data.update(overrides)
    return client.post("/checkout/", data=data)


def session_id_of(response) -> str:
    """The Checkout Session id from a 303 to the sandbox's hosted page."""
    assert response.status_code == 303, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith(f"{BASE_URL}/sandbox/stripe/pay/"), location
    return location.rsplit("/", 1)[1]


def place_and_get_session(client: FlaskClient, product_id: int, quantity: int = 1) -> str:
    added = add_to_cart(client, product_id, quantity)
    # A refused add redirects too (back to the product page): only the cart means added.
    assert (added.status_code, added.headers.get("Location")) == (303, "/cart/"), added
    return session_id_of(submit_checkout(client))


def follow_success(client: FlaskClient, redirect_url: str):
    """Land on the shop's success page where the sandbox redirected after payment."""
    parts = urlsplit(redirect_url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE_URL
    return client.get(parts.path, query_string=parse_qs(parts.query))


def post_form(client: FlaskClient, path: str):
    """POST a form that carries nothing but its CSRF token (a button: resume, cancel...)."""
    return client.post(path, data={"csrf_token": csrf_token(client)})
