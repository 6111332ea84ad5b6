"""Password reset: a signed, time-limited link by e-mail that works once and leaks no accounts."""

import re
import time
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from checkout.extensions import db
from checkout.models import OutboxMessage, User
from checkout.models.user import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from checkout.services.accounts import register_shopper
from tests.conftest import BASE_URL, csrf_token
from tests.mail_support import parts, smtp_server
from tests.state import text_of

EMAIL = "ada@example.com"
OLD = "old password 123"
NEW = "new password 456"


@pytest.fixture
def smtp(app):
    with smtp_server(app) as sink:
        yield sink


@pytest.fixture
def shopper(app) -> None:
    with app.app_context():
        register_shopper(EMAIL, OLD)
        db.session.remove()


def ask(client, email: str):
    return client.post("/account/forgot", data={
        "csrf_token": csrf_token(client, "/account/forgot"), "email": email})


def reset_path(smtp) -> str:
    [message] = smtp.messages
    text, html = parts(message)
    [url] = re.findall(rf"{re.escape(BASE_URL)}/account/reset/\S+", text)
    assert f'href="{url}"' in html
    return urlsplit(url).path


def choose(client, path: str, password: str, confirm: str | None = None):
    return client.post(path, data={
        "csrf_token": csrf_token(client, path), "password": password,
        "confirm": password if confirm is None else confirm})


def signs_in(app, password: str) -> bool:
    client = app.test_client()
    response = client.post("/account/login", data={
        "csrf_token": csrf_token(client), "email": EMAIL, "password": password})
    return response.status_code == 303


def outbox_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def password_hash(app) -> str:
    with app.app_context():
        return db.session.scalar(select(User.password_hash))


def test_the_sign_in_page_links_the_reset_form(client):
    page = client.get("/account/login").get_data(as_text=True)
    assert 'href="/account/forgot"' in page and "Forgot your password?" in page


def test_a_reset_link_arrives_by_mail_and_sets_a_new_password_once(app, client, shopper, smtp):
    answer = ask(client, EMAIL)
    assert answer.status_code == 200
    [message] = smtp.messages
    assert smtp.recipients == [[EMAIL]]
    assert message["Subject"] == "Fernhill Supply: reset your password"
    assert message["From"] == app.config["MAIL_FROM"]
    text, html = parts(message)
    assert "Fernhill Supply" in text and "Fernhill Supply" in html
    path = reset_path(smtp)

    form = app.test_client()
    assert form.get(path).status_code == 200
    done = choose(form, path, NEW)
    assert done.status_code == 303 and done.headers["Location"] == "/account/"
    assert form.get("/account/").status_code == 200  # signed in
    assert signs_in(app, NEW) and not signs_in(app, OLD)

    # Used: the link is dead, and nothing changes through it.
    changed = password_hash(app)
    again = app.test_client()
    assert again.get(path).status_code == 400
    assert "already been used" in text_of(again.get(path))
    response = again.post(path, data={"csrf_token": csrf_token(again), "password": "another 789",
                                      "confirm": "another 789"})
    assert response.status_code == 400
    assert password_hash(app) == changed


def test_an_unknown_address_gets_the_same_answer_and_no_mail(app, client, shopper, smtp):
    known = text_of(ask(client, EMAIL)).replace(EMAIL, "X")
    unknown_response = ask(app.test_client(), "nobody@example.com")
    assert unknown_response.status_code == 200
    assert text_of(unknown_response).replace("nobody@example.com", "X") == known
    assert len(smtp.messages) == 1 and smtp.recipients == [[EMAIL]]


def test_asking_again_within_the_hour_sends_no_second_mail(app, client, shopper, smtp):
    ask(client, EMAIL)
    ask(client, EMAIL.upper())
    assert len(smtp.messages) == 1
    assert outbox_count(app) == 1


@pytest.mark.parametrize("token", ["forged", "eyJ1c2VyIjoxfQ.ZZZZZZ.ZZZZZZZZZZZZZZZZZZZZZZZZZZZ"])
def test_a_forged_link_is_a_400_and_changes_nothing(app, client, shopper, token):
    before = password_hash(app)
    assert client.get(f"/account/reset/{token}").status_code == 400
    response = client.post(f"/account/reset/{token}", data={
        "csrf_token": csrf_token(client), "password": NEW, "confirm": NEW})
    assert response.status_code == 400
    assert "not valid or has expired" in text_of(response)
    assert password_hash(app) == before


def test_an_expired_link_is_a_400_and_changes_nothing(app, client, shopper, smtp, monkeypatch):
    ask(client, EMAIL)
    path = reset_path(smtp)
    before = password_hash(app)
    later = int(time.time()) + app.config["PASSWORD_RESET_MINUTES"] * 60 + 5
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    form = app.test_client()
    response = form.post(path, data={"csrf_token": csrf_token(form), "password": NEW,
                                     "confirm": NEW})
    assert response.status_code == 400 and "expired" in text_of(response)
    assert password_hash(app) == before


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short", None, f"Use between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH}"),
        ("x" * (MAX_PASSWORD_LENGTH + 1), None, "Use between"),
        (NEW, "something else 1", "The passwords do not match."),
    ],
)
def test_a_bad_new_password_is_refused_and_the_link_still_works(
    app, client, shopper, smtp, password, confirm, message
):
    ask(client, EMAIL)
    path = reset_path(smtp)
    before = password_hash(app)
    form = app.test_client()
    response = choose(form, path, password, confirm)
    assert response.status_code == 422 and message in text_of(response)
    assert password_hash(app) == before
    assert choose(form, path, NEW).status_code == 303


def test_both_forms_refuse_a_missing_csrf_token(app, client, shopper, smtp):
    assert client.post("/account/forgot", data={"email": EMAIL}).status_code == 400
    assert smtp.messages == [] and outbox_count(app) == 0
    ask(client, EMAIL)
    path = reset_path(smtp)
    before = password_hash(app)
    assert client.post(path, data={"password": NEW, "confirm": NEW}).status_code == 400
    assert password_hash(app) == before
