"""Attack findings on staff invitations: an address nobody proved is someone else's account."""

import re
from urllib.parse import urlsplit

import pytest

from tests.conftest import BASE_URL, csrf_token
from tests.mail_support import parts, smtp_server

PAGE = "/staff/accounts/"
HIRE = "new.hire@example.com"
SQUATTER_PASSWORD = "squatter-knows-this-1"


@pytest.fixture
def smtp(app):
    with smtp_server(app) as sink:
        yield sink


def _squat(app):
    """Someone registers the future hire's address as a shopper (no proof asked) and stays in."""
    squatter = app.test_client()
    response = squatter.post("/account/register", data={
        "csrf_token": csrf_token(squatter, "/account/register"), "email": HIRE,
        "password": SQUATTER_PASSWORD, "confirm": SQUATTER_PASSWORD,
    })
    assert response.status_code == 303, response.get_data(as_text=True)
    # Registering signs nobody in (issue 9, defect 5): the squatter signs in next.
    squatter.post("/account/login", data={"csrf_token": csrf_token(squatter), "email": HIRE,
                                          "password": SQUATTER_PASSWORD})
    assert squatter.get("/account/settings").status_code == 200
    return squatter


def _invite(admin):
    response = admin.post(PAGE, data={"csrf_token": csrf_token(admin, PAGE), "email": HIRE,
                                      "role": "admin", "password": ""})
    assert response.status_code == 303, response.get_data(as_text=True)


def test_an_unverified_shopper_account_invited_as_staff_does_not_open_the_back_office(
    app, admin, smtp
):
    """Pre-account hijack: the squatter's password and session must not become an admin's."""
    squatter = _squat(app)
    _invite(admin)
    assert squatter.get("/staff/").status_code != 200
    fresh = app.test_client()
    fresh.post("/account/login", data={"csrf_token": csrf_token(fresh), "email": HIRE,
                                       "password": SQUATTER_PASSWORD})
    assert fresh.get("/staff/").status_code != 200


def test_choosing_a_password_from_the_invitation_signs_out_every_other_session(
    app, admin, smtp
):
    """The real owner takes the account over through the mailed link; older sessions must end."""
    squatter = _squat(app)
    _invite(admin)
    # The squatter's sign-up mailed its own confirmation link too; the invitation is the other.
    [url] = [found for message in smtp.messages
             for found in re.findall(rf"{re.escape(BASE_URL)}/welcome/\S+", parts(message)[0])]
    path = urlsplit(url).path
    owner = app.test_client()
    done = owner.post(path, data={"csrf_token": csrf_token(owner, path),
                                  "password": "the real owner 1", "confirm": "the real owner 1"})
    assert done.status_code == 303
    response = squatter.get("/staff/")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
