"""Who may open the back office: the whole URL map under /staff, walked for every role."""

from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from checkout import create_app
from checkout.extensions import db
from checkout.models import User
from checkout.models.user import Role
from checkout.services.accounts import (
    authenticate,
    create_staff,
    password_link_token,
    register_shopper,
)
from tests.conftest import csrf_token
from tests.staff.conftest import PASSWORD, sign_in


def staff_routes(app: Flask) -> list[tuple[str, str, str]]:
    """Every (endpoint, method, path) under /staff, with each URL variable filled in."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff"):
            continue
        values = {
            arg: 1 if "Integer" in type(rule._converters[arg]).__name__ else "X"
            for arg in rule.arguments
        }
        with app.test_request_context():
            path = urlsplit(app.url_for(rule.endpoint, **values)).path
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, path))
    return routes


def _url_map_routes() -> list[tuple[str, str, str]]:
    """The routes of an app built only to read its URL map (no database is touched)."""
    app = create_app({
        "TESTING": True, "SECRET_KEY": "url-map", "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "PAYMENTS": "sandbox", "SANDBOX_DATABASE_URL": "sqlite://", "SANDBOX_BACKGROUND": False,
        "JOBS_IMMEDIATE": True,
    })
    return staff_routes(app)


# Read when the tests are collected, so each route is its own test case: a new route under
# /staff is walked without anyone adding it here.
ROUTES = _url_map_routes()
ROUTE_IDS = [f"{method} {endpoint}" for endpoint, method, _ in ROUTES]

# Pages that move money or change the catalogue or the people: admins only, whatever a later
# change to a view's decorators says.
ADMIN_AREAS = ("staff.products.", "staff.discounts.", "staff.accounts.", "staff.refunds.new",
               "staff.refunds.mark_sent", "staff.refunds.approve", "staff.refunds.reject")


def _is_admin_only(app: Flask, endpoint: str) -> bool:
    return getattr(app.view_functions[endpoint], "admin_only", False)


def test_the_walk_found_the_back_office():
    assert len(ROUTES) > 20, ROUTES


@pytest.mark.parametrize(("endpoint", "method", "path"), ROUTES, ids=ROUTE_IDS)
def test_every_staff_url_is_guarded_for_every_role(app, endpoint, method, path):
    assert endpoint.startswith("staff."), f"{path} is outside the staff blueprint's guard"
    signed_out = app.test_client()
    response = signed_out.open(path, method=method,
                               data={"csrf_token": csrf_token(signed_out)})
    assert response.status_code == 302, (method, path, response.status_code)
    location = urlsplit(response.headers["Location"])
    assert location.path == "/account/login"
    assert f"next={path.replace('/', '%2F')}" in location.query, location.query

    with app.app_context():
        register_shopper("walker@example.com", PASSWORD)
        create_staff("walker-staff@example.com", PASSWORD)
        db.session.remove()
    shopper = sign_in(app.test_client(), "walker@example.com")
    response = shopper.open(path, method=method, data={"csrf_token": csrf_token(shopper)})
    assert response.status_code == 403, (method, path, response.status_code)

    if endpoint.startswith(ADMIN_AREAS):
        assert _is_admin_only(app, endpoint), f"{endpoint} must be admin-only"
    if _is_admin_only(app, endpoint):
        staff = sign_in(app.test_client(), "walker-staff@example.com")
        response = staff.open(path, method=method, data={"csrf_token": csrf_token(staff)})
        assert response.status_code == 403, (method, path, response.status_code)


def test_staff_open_the_back_office(app, staff):
    assert staff.get("/staff/").status_code == 200


def test_signing_in_from_a_staff_page_comes_back_to_it(app, client):
    with app.app_context():
        create_staff("boss@example.com", PASSWORD)
    response = client.get("/staff/")
    login = response.headers["Location"]
    signed_in = client.post(
        login, data={"csrf_token": csrf_token(client), "email": "boss@example.com",
                     "password": PASSWORD},
    )
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/staff/"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/x", "//evil.example/x", "/\\evil.example", "/\t/evil.example",
     "javascript:alert(1)", "evil.example"],
)
def test_next_must_be_a_path_on_this_site(app, client, target):
    with app.app_context():
        create_staff("boss@example.com", PASSWORD)
    response = client.post(
        "/account/login", query_string={"next": target},
        data={"csrf_token": csrf_token(client), "email": "boss@example.com", "password": PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"


def test_staff_land_on_the_back_office_and_shoppers_on_their_orders(app, staff, shopper):
    assert staff.get("/").status_code == 200
    assert "Back office" in staff.get("/").get_data(as_text=True)
    assert "Back office" not in shopper.get("/").get_data(as_text=True)


def test_a_deactivated_account_cannot_sign_in_and_loses_its_session(app, staff):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "staff@example.com"))
        user.active = False
        db.session.commit()
        assert authenticate("staff@example.com", PASSWORD) is None
    response = staff.get("/staff/")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_an_old_password_hash_still_signs_in_and_is_upgraded_to_argon2(app, client):
    from werkzeug.security import generate_password_hash

    with app.app_context():
        user = User(email="old@example.com", role=Role.STAFF,
                    password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256"))
        db.session.add(user)
        db.session.commit()
    sign_in(client, "old@example.com")
    with app.app_context():
        upgraded = db.session.scalar(select(User).where(User.email == "old@example.com"))
        assert upgraded.password_hash.startswith("$argon2id$")
        assert upgraded.check_password(PASSWORD) and not upgraded.check_password("wrong-password")


def test_admin_flag_is_kept_when_an_admin_is_made_staff_again(app):
    with app.app_context():
        create_staff("boss@example.com", PASSWORD, admin=True)
        user = create_staff("boss@example.com", PASSWORD)
        assert user.role == Role.ADMIN


def test_a_password_link_of_a_deactivated_account_opens_nothing(app, client):
    with app.app_context():
        user = create_staff("gone@example.com", PASSWORD)
        token = password_link_token(user, "password-reset")
        user.active = False
        db.session.commit()
    response = client.get(f"/account/reset/{token}")
    assert response.status_code == 400
    assert "switched off" in response.get_data(as_text=True)
