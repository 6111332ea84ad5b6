"""Changing the password signs out every other browser; a reset and the button sign out all."""

import re

import pytest
from flask.testing import FlaskClient

from checkout.models.user import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from tests.accounts_support import (
    PASSWORD,
    account,
    is_signed_in,
    make_shopper,
    signed_in_browser,
)
from tests.conftest import csrf_token
from tests.mail_support import parts, smtp_server
from tests.state import text_of

EMAIL = "ada@example.com"
NEW = "a brand new password 42"


def change(client: FlaskClient, current: str, new: str, confirm: str | None = None):
    return client.post("/account/password", data={
        "csrf_token": csrf_token(client, "/account/settings"),
        "current_password": current, "password": new,
        "confirm": new if confirm is None else confirm})


def test_changing_the_password_signs_out_every_other_browser_but_this_one(app):
    make_shopper(app, EMAIL)
    here, elsewhere = signed_in_browser(app, EMAIL), signed_in_browser(app, EMAIL)
    before = account(app, EMAIL)

    response = change(here, PASSWORD, NEW)

    assert response.status_code == 303 and response.headers["Location"] == "/account/settings"
    assert "Every other browser was signed out" in text_of(here.get("/account/settings"))
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)
    after = account(app, EMAIL)
    assert after.session_token != before.session_token
    assert after.password_hash != before.password_hash
    signed_in_browser(app, EMAIL, NEW)
    stranger = app.test_client()
    refused = stranger.post("/account/login", data={
        "csrf_token": csrf_token(stranger), "email": EMAIL, "password": PASSWORD})
    assert refused.status_code == 422


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("not my password 1", NEW, None, "That is not your current password."),
        ("", NEW, None, "Enter your current password."),
        (PASSWORD, "short", None,
         f"Use between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} characters."),
        (PASSWORD, "x" * (MAX_PASSWORD_LENGTH + 1), None, "Use between"),
        (PASSWORD, NEW, "something else 12", "The passwords do not match."),
    ],
)
def test_a_refused_change_says_why_and_changes_nothing(app, current, new, confirm, message):
    make_shopper(app, EMAIL)
    here, elsewhere = signed_in_browser(app, EMAIL), signed_in_browser(app, EMAIL)
    before = account(app, EMAIL)

    response = change(here, current, new, confirm)

    assert response.status_code == 422
    assert message in text_of(response)
    after = account(app, EMAIL)
    assert (after.password_hash, after.session_token) == (
        before.password_hash, before.session_token)
    assert is_signed_in(here) and is_signed_in(elsewhere)


def test_changing_the_password_needs_a_signed_in_browser_and_a_csrf_token(app, client):
    make_shopper(app, EMAIL)
    before = account(app, EMAIL)
    signed_out = client.post("/account/password", data={
        "csrf_token": csrf_token(client), "current_password": PASSWORD, "password": NEW,
        "confirm": NEW})
    assert signed_out.status_code == 302 and "/account/login" in signed_out.headers["Location"]
    here = signed_in_browser(app, EMAIL)
    no_token = here.post("/account/password", data={
        "current_password": PASSWORD, "password": NEW, "confirm": NEW})
    assert no_token.status_code == 400
    assert account(app, EMAIL).password_hash == before.password_hash


def test_sign_out_everywhere_ends_every_session_this_one_included(app):
    make_shopper(app, EMAIL)
    here, elsewhere = signed_in_browser(app, EMAIL), signed_in_browser(app, EMAIL)
    response = here.post("/account/sign-out-everywhere", data={
        "csrf_token": csrf_token(here, "/account/settings")})
    assert response.status_code == 303 and response.headers["Location"] == "/account/login"
    assert not is_signed_in(here) and not is_signed_in(elsewhere)
    assert is_signed_in(signed_in_browser(app, EMAIL))  # the password still works


def test_sign_out_everywhere_without_a_csrf_token_signs_out_nobody(app):
    make_shopper(app, EMAIL)
    here, elsewhere = signed_in_browser(app, EMAIL), signed_in_browser(app, EMAIL)
    assert here.post("/account/sign-out-everywhere").status_code == 400
    assert is_signed_in(here) and is_signed_in(elsewhere)


def test_a_password_reset_signs_out_every_browser(app):
    make_shopper(app, EMAIL)
    elsewhere = signed_in_browser(app, EMAIL)
    with smtp_server(app) as smtp:
        asker = app.test_client()
        asker.post("/account/forgot", data={
            "csrf_token": csrf_token(asker, "/account/forgot"), "email": EMAIL})
        [message] = smtp.messages
    [path] = re.findall(r"/account/reset/[^\s\"]+", parts(message)[0])
    resetter = app.test_client()
    done = resetter.post(path, data={"csrf_token": csrf_token(resetter, path),
                                     "password": NEW, "confirm": NEW})
    assert done.status_code == 303
    assert is_signed_in(resetter)
    assert not is_signed_in(elsewhere)


def test_a_session_from_before_session_tokens_is_signed_out(app):
    user_id = make_shopper(app, EMAIL)
    old = app.test_client()
    with old.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
    assert not is_signed_in(old)
    forged = app.test_client()
    with forged.session_transaction() as session:
        session["_user_id"] = f"{user_id}:{'0' * 32}"
    assert not is_signed_in(forged)
