"""Shared by the bad-input tests: real CSRF tokens, database snapshots, a 500 page on a crash."""

from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from checkout.extensions import db
from checkout.services.accounts import register_shopper
from tests.conftest import csrf_token
from tests.shop import add_to_cart, place_and_get_session
from tests.state import guest_token, only_order, text_of

CSRF_MESSAGE = "This form is out of date or was not sent from our site."
NOT_FOR_SALE = "That product is not for sale."
NO_ORDER = "We could not find that order."
HUGE_NUMBER = "9" * 40
LONG_TEXT = "x" * 10_000
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _crash_as_500(app, monkeypatch):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)


def assert_refused(response, status: int, message: str) -> None:
    body = text_of(response)
    assert response.status_code == status, body[:3000]
    assert message in body, body[:3000]


def post_form(client: FlaskClient, path: str, data: dict[str, str | None], *,
              token: str | None = "real"):
    """POST a form; a None value leaves the field out; token "real" fetches a real one."""
    fields = {k: v for k, v in data.items() if v is not None}
    if token == "real":
        fields["csrf_token"] = csrf_token(client)
    elif token is not None:
        fields["csrf_token"] = token
    return client.post(path, data=fields)


@dataclass(frozen=True)
class Shop:
    mug: int
    pen: int
    vase: int
    number: str
    token: str
    session_id: str


@pytest.fixture
def shop(app, client, products) -> Shop:
    """A guest who placed an order for a pen and then put two mugs in the cart."""
    session_id = place_and_get_session(client, products["PEN"], 1)
    number = only_order(app).number
    assert add_to_cart(client, products["MUG"], 2).status_code == 303
    return Shop(products["MUG"], products["PEN"], products["VASE"], number,
                guest_token(app, number), session_id)


@pytest.fixture
def shopper(app) -> str:
    with app.app_context():
        email = register_shopper("grace@example.com", PASSWORD).email
        db.session.remove()
    return email


