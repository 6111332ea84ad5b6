"""Shopper accounts for the account tests: make one, sign a browser in, ask if it still is."""

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import User
from checkout.services.accounts import register_shopper
from tests.conftest import csrf_token

PASSWORD = "a-long-enough-password"


def make_shopper(app: Flask, email: str, password: str = PASSWORD) -> int:
    with app.app_context():
        user = register_shopper(email, password)
        assert user is not None
        user_id = user.id
        db.session.remove()
    return user_id


def signed_in_browser(app: Flask, email: str, password: str = PASSWORD) -> FlaskClient:
    client = app.test_client()
    response = client.post("/account/login", data={
        "csrf_token": csrf_token(client), "email": email, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def is_signed_in(client: FlaskClient) -> bool:
    response = client.get("/account/settings")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def account(app: Flask, email: str) -> User:
    """The account row as stored now (detached: read its columns only)."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge(user)
        db.session.remove()
    return user
