"""Signed-in browsers for the back-office tests: an admin, a staff member, a shopper."""

import pytest
from flask import Flask
from flask.testing import FlaskClient

from checkout.extensions import db
from checkout.services.accounts import create_staff, register_shopper
from tests.conftest import csrf_token

PASSWORD = "a-long-enough-password"


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> FlaskClient:
    response = client.post(
        "/account/login",
        data={"csrf_token": csrf_token(client), "email": email, "password": password},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def _account(app: Flask, email: str, role: str) -> FlaskClient:
    with app.app_context():
        if role == "shopper":
            register_shopper(email, PASSWORD)
        else:
            create_staff(email, PASSWORD, admin=role == "admin")
        db.session.remove()
    return sign_in(app.test_client(), email)


@pytest.fixture
def admin(app) -> FlaskClient:
    return _account(app, "admin@example.com", "admin")


@pytest.fixture
def staff(app) -> FlaskClient:
    return _account(app, "staff@example.com", "staff")


@pytest.fixture
def shopper(app) -> FlaskClient:
    return _account(app, "shopper@example.com", "shopper")
