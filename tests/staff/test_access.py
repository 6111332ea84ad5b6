"""Who may open the back office: the whole URL map under /staff, walked for every role."""

from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import User
from checkout.models.user import Role
from checkout.services.accounts import authenticate, create_staff, password_link_token
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


def _is_admin_only(app: Flask, endpoint: str) -> bool:
    return getattr(app.view_functions[endpoint], "admin_only", False)


def test_every_staff_url_belongs_to_the_guarded_blueprint(app):
    routes = staff_routes(app)
    assert routes, "the back office has no pages"
    for endpoint, _, path in routes:
        assert endpoint.startswith("staff."), f"{path} is outside the staff blueprint's guard"


def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(app, client):
    for endpoint, method, path in staff_routes(app):
        response = client.open(path, method=method, data={"csrf_token": csrf_token(client)})
        assert response.status_code == 302, (endpoint, method, response.status_code)
        location = urlsplit(response.headers["Location"])
        assert location.path == "/account/login", endpoint
        assert f"next={path.replace('/', '%2F')}" in location.query, (endpoint, location.query)


def test_a_shopper_gets_403_everywhere(app, shopper):
    for endpoint, method, path in staff_routes(app):
        response = shopper.open(path, method=method, data={"csrf_token": csrf_token(shopper)})
        assert response.status_code == 403, (endpoint, method, response.status_code)


def test_staff_get_403_on_admin_pages_only(app, staff):
    admin_routes = [r for r in staff_routes(app) if _is_admin_only(app, r[0])]
    for endpoint, method, path in admin_routes:
        response = staff.open(path, method=method, data={"csrf_token": csrf_token(staff)})
        assert response.status_code == 403, (endpoint, method, response.status_code)
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
