"""Staff accounts (admin): invite, change role, deactivate; never oneself, never the last admin."""

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from checkout.db import now_utc
from checkout.domain.errors import AccountChangeRefused
from checkout.extensions import db
from checkout.models import User
from checkout.models.user import Role
from checkout.services import staff_accounts
from checkout.services.accounts import create_staff, register_shopper
from tests.conftest import BASE_URL, csrf_token
from tests.mail_support import parts, smtp_server
from tests.staff.admin_support import assert_refused, detached, race
from tests.staff.conftest import PASSWORD, sign_in
from tests.state import text_of

PAGE = "/staff/accounts/"


@pytest.fixture
def smtp(app):
    with smtp_server(app) as sink:
        yield sink


def _user(app, email: str) -> User:
    return detached(app, User, User.email == email)


def _invite(client, email: str, role: str = "staff", password: str = ""):
    return client.post(PAGE, data={"csrf_token": csrf_token(client, PAGE), "email": email,
                                   "role": role, "password": password})


def _post(client, path: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, PAGE), **data})


def test_an_invitation_mails_a_link_that_sets_the_password_once(app, admin, smtp):
    response = _invite(admin, "new.hire@example.com")
    assert response.status_code == 303, text_of(response)
    invited = _user(app, "new.hire@example.com")
    assert (invited.role, invited.active) == (Role.STAFF, True)
    [message] = smtp.messages
    assert message["To"] == "new.hire@example.com"
    text, html = parts(message)
    assert "admin@example.com made you a staff account" in text
    [url] = re.findall(rf"{re.escape(BASE_URL)}/welcome/\S+", text)
    assert f'href="{url}"' in html
    path = urlsplit(url).path

    browser = app.test_client()
    assert browser.get(path).status_code == 200
    done = browser.post(path, data={"csrf_token": csrf_token(browser, path),
                                    "password": "chosen password 1",
                                    "confirm": "chosen password 1"})
    assert done.status_code == 303 and done.headers["Location"] == "/staff/"
    assert browser.get("/staff/").status_code == 200
    sign_in(app.test_client(), "new.hire@example.com", "chosen password 1")
    assert app.test_client().get(path).status_code == 400
    assert "already been used" in text_of(app.test_client().get(path))


def test_an_invited_account_cannot_sign_in_before_choosing_a_password(app, admin, smtp):
    _invite(admin, "new.hire@example.com")
    client = app.test_client()
    response = client.post("/account/login", data={"csrf_token": csrf_token(client),
                                                   "email": "new.hire@example.com",
                                                   "password": ""})
    assert response.status_code == 422


def test_an_admin_can_set_an_initial_password_instead(app, admin, smtp):
    response = _invite(admin, "boss2@example.com", role="admin", password=PASSWORD)
    assert response.status_code == 303
    assert smtp.messages == []
    assert _user(app, "boss2@example.com").role == Role.ADMIN
    sign_in(app.test_client(), "boss2@example.com")


def test_a_confirmed_shopper_invited_becomes_staff_and_keeps_their_password(app, admin, smtp):
    with app.app_context():
        user = register_shopper("ada@example.com", PASSWORD)
        user.email_verified_at = now_utc()
        db.session.commit()
    assert _invite(admin, "ada@example.com").status_code == 303
    assert _user(app, "ada@example.com").role == Role.STAFF
    assert sign_in(app.test_client(), "ada@example.com").get("/staff/").status_code == 200


@pytest.mark.parametrize("email,role,password,message", [
    ("not-an-address", "staff", "", "Enter an e-mail address like name@example.com."),
    ("", "staff", "", "Enter their e-mail address."),
    ("x@example.com", "owner", "", "Not a valid choice"),
    ("x@example.com", "staff", "short", "Use between 10 and 200 characters."),
    ("staff@example.com", "admin", "", "staff@example.com is a staff account already."),
])
def test_a_bad_invitation_gets_the_form_again_and_writes_nothing(app, admin, staff, smtp, email,
                                                                  role, password, message):
    assert_refused(app, lambda: _invite(admin, email, role, password), message)
    assert smtp.messages == []


def test_an_admin_changes_roles_and_deactivates_and_the_session_stops(app, admin, staff):
    staff_id = _user(app, "staff@example.com").id
    assert _post(admin, f"/staff/accounts/{staff_id}/role", role="admin").status_code == 303
    assert _user(app, "staff@example.com").role == Role.ADMIN
    assert staff.get("/staff/products/").status_code == 200
    assert _post(admin, f"/staff/accounts/{staff_id}/role", role="staff").status_code == 303
    assert staff.get("/staff/products/").status_code == 403
    assert _post(admin, f"/staff/accounts/{staff_id}/deactivate").status_code == 303
    assert not _user(app, "staff@example.com").active
    response = staff.get("/staff/")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    assert "deactivated" in text_of(admin.get(PAGE))
    assert _post(admin, f"/staff/accounts/{staff_id}/reactivate").status_code == 303
    sign_in(app.test_client(), "staff@example.com")


@pytest.mark.parametrize("action,data", [("role", {"role": "staff"}), ("deactivate", {})])
def test_an_admin_cannot_demote_or_deactivate_themselves(app, admin, action, data):
    me = _user(app, "admin@example.com")
    assert_refused(app, lambda: _post(admin, f"/staff/accounts/{me.id}/{action}", **data),
                   "You cannot change your own role or deactivate yourself.", status=409)


def test_a_shopper_account_or_an_unknown_id_is_not_a_staff_account(app, admin, shopper):
    shopper_id = _user(app, "shopper@example.com").id
    for user_id in (shopper_id, 9999):
        response = _post(admin, f"/staff/accounts/{user_id}/role", role="admin")
        assert response.status_code == 409
        assert "There is no such staff account." in text_of(response)
    assert _user(app, "shopper@example.com").role == Role.SHOPPER


def test_a_bad_role_is_refused(app, admin, staff):
    staff_id = _user(app, "staff@example.com").id
    response = _post(admin, f"/staff/accounts/{staff_id}/role", role="shopper")
    assert response.status_code == 422
    assert _user(app, "staff@example.com").role == Role.STAFF


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(app, ctx):
    only = create_staff("only@example.com", PASSWORD, admin=True)
    other = create_staff("other@example.com", PASSWORD, admin=True)
    # `other` is still signed in somewhere, but was made staff a moment ago.
    staff_accounts.set_role(other.id, Role.STAFF, by=only)
    for change in (lambda: staff_accounts.set_role(only.id, Role.STAFF, by=other),
                   lambda: staff_accounts.set_active(only.id, False, by=other)):
        with pytest.raises(AccountChangeRefused):
            change()
    assert db.session.get(User, only.id).role == Role.ADMIN


def _demote(actor_id: int, target_id: int, how: str, done: list[int]) -> None:
    actor = db.session.get(User, actor_id)
    if how == "role":
        staff_accounts.set_role(target_id, Role.STAFF, by=actor)
    else:
        staff_accounts.set_active(target_id, False, by=actor)
    done.append(actor_id)


def test_two_admins_demoting_each_other_at_once_leave_one_admin(app, ctx):
    for attempt in range(3):
        a = create_staff(f"a{attempt}@example.com", PASSWORD, admin=True).id
        b = create_staff(f"b{attempt}@example.com", PASSWORD, admin=True).id
        # Only these two are admins in this round.
        for user in db.session.scalars(select(User).where(User.id.not_in([a, b]))):
            user.role = Role.STAFF
        db.session.commit()
        db.session.remove()
        done: list[int] = []
        errors = race(app, (AccountChangeRefused,), [
            lambda a=a, b=b, done=done: _demote(a, b, "role", done),
            lambda a=a, b=b, done=done: _demote(b, a, "deactivate", done),
        ])
        assert errors == []
        assert len(done) == 1
        admins = db.session.scalars(select(User.id).where(
            User.role == Role.ADMIN, User.active.is_(True))).all()
        assert len(admins) == 1
        db.session.remove()
