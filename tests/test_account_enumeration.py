"""Issue 9, defect 5: sign-in, registration and the password-reset form tell nobody which
e-mail addresses have an account.

Timing is not measured (too flaky to assert): the test counts the Argon2 verifications a
sign-in makes instead, which is what the time is spent on.
"""

import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from checkout.extensions import db
from checkout.models import OutboxMessage, User
from checkout.models import user as users
from tests.accounts_support import PASSWORD, is_signed_in, make_shopper
from tests.conftest import csrf_token

OWNER = "owner@example.com"
STRANGER = "stranger@example.com"


@pytest.fixture
def argon2_verifications(monkeypatch) -> list[str]:
    """Record every Argon2 verification (the hash it checked against), still doing it."""
    seen: list[str] = []
    shops_hasher = type(users._hasher)  # a PasswordHasher that works in a process of its own
    real_verify = shops_hasher.verify

    def spy(self, hash, password):
        seen.append(hash if isinstance(hash, str) else hash.decode())
        return real_verify(self, hash, password)

    monkeypatch.setattr(shops_hasher, "verify", spy)
    return seen


def comparable(response, *emails: str) -> tuple[int, str | None, str]:
    """Status, Location and body, with CSRF tokens and the typed addresses blotted out."""
    body = response.get_data(as_text=True)
    body = re.sub(r'(name="csrf_token"[^>]*value=")[^"]+"', r'\1…"', body)
    for email in emails:
        body = body.replace(email, "<typed address>")
    return response.status_code, response.headers.get("Location"), body


def sign_in(client, email: str, password: str):
    return client.post("/account/login", data={
        "csrf_token": csrf_token(client), "email": email, "password": password})


def register(client, email: str, password: str = PASSWORD):
    return client.post("/account/register", data={
        "csrf_token": csrf_token(client, "/account/register"), "email": email,
        "password": password, "confirm": password})


def outbox(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(OutboxMessage.template, OutboxMessage.recipient).order_by(OutboxMessage.id)
        ).all()
        return [tuple(row) for row in rows]


def accounts_with(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(User).where(func.lower(User.email) == email.lower())
        )


# Sign-in ------------------------------------------------------------------------------------

def test_an_unknown_address_costs_one_argon2_verification_like_a_wrong_password(
        app, argon2_verifications):
    make_shopper(app, OWNER)
    with app.app_context():
        owner_hash = db.session.scalar(select(User.password_hash))

    known = sign_in(app.test_client(), OWNER, "not the password")
    assert argon2_verifications == [owner_hash]
    unknown = sign_in(app.test_client(), STRANGER, "not the password")
    assert len(argon2_verifications) == 2
    dummy = argon2_verifications[1]
    assert dummy.startswith("$argon2id$") and dummy != owner_hash
    # Made with the same settings as a real account's hash: it costs the same to check.
    assert dummy.split("$")[3] == owner_hash.split("$")[3]

    assert comparable(known, OWNER) == comparable(unknown, STRANGER)
    assert known.status_code == 422


def test_a_switched_off_account_costs_one_verification_and_answers_as_a_wrong_password(
        app, argon2_verifications):
    make_shopper(app, OWNER)
    with app.app_context():
        db.session.execute(db.update(User).values(active=False))
        db.session.commit()
    off = sign_in(app.test_client(), OWNER, PASSWORD)
    assert len(argon2_verifications) == 1
    unknown = sign_in(app.test_client(), STRANGER, PASSWORD)
    assert len(argon2_verifications) == 2
    assert comparable(off, OWNER) == comparable(unknown, STRANGER)


def test_the_right_password_still_signs_in(app, argon2_verifications):
    make_shopper(app, OWNER)
    browser = app.test_client()
    assert sign_in(browser, OWNER, PASSWORD).status_code == 303
    assert len(argon2_verifications) == 1
    assert is_signed_in(browser)


# Registration -------------------------------------------------------------------------------

def test_registering_a_taken_address_answers_exactly_as_a_new_one_and_mails_the_owner(app):
    make_shopper(app, OWNER)
    taken_browser, new_browser = app.test_client(), app.test_client()

    taken = register(taken_browser, OWNER, "the attacker's password")
    new = register(new_browser, STRANGER, "the attacker's password")

    assert taken.status_code == new.status_code == 303
    assert comparable(taken, OWNER) == comparable(new, STRANGER)
    # The page the redirect leads to says the same too.
    assert comparable(taken_browser.get(taken.headers["Location"]), OWNER) == comparable(
        new_browser.get(new.headers["Location"]), STRANGER)
    # Nobody is signed in by registering: a session would tell a new account from a taken one.
    assert not is_signed_in(taken_browser) and not is_signed_in(new_browser)

    assert accounts_with(app, OWNER) == 1
    assert accounts_with(app, STRANGER) == 1
    assert outbox(app) == [("account_exists", OWNER), ("verify_email", STRANGER)]


def test_the_owner_mail_says_what_happened_and_where_to_go(app):
    make_shopper(app, OWNER)
    register(app.test_client(), OWNER.upper(), "another long password")
    assert outbox(app) == [("account_exists", OWNER)]
    # The folder is the whole session's: the newest such mail is this test's.
    path = max(Path(app.config["MAIL_DIR"]).glob("*account-exists*.eml"),
               key=lambda p: p.stat().st_mtime_ns)
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == OWNER
    text = message.get_body(("plain",)).get_content()
    assert "someone tried to register" in text.lower()
    assert "/account/login" in text and "/account/forgot" in text
    assert "another long password" not in message.as_string()


def test_the_owner_gets_one_such_mail_an_hour_however_often_someone_tries(app):
    make_shopper(app, OWNER)
    for _ in range(4):
        assert register(app.test_client(), OWNER, "yet another password").status_code == 303
    assert outbox(app) == [("account_exists", OWNER)]
    assert accounts_with(app, OWNER) == 1


def test_the_owners_password_is_untouched_by_a_registration_attempt(app):
    make_shopper(app, OWNER)
    register(app.test_client(), OWNER, "the attacker's password")
    assert sign_in(app.test_client(), OWNER, "the attacker's password").status_code == 422
    assert sign_in(app.test_client(), OWNER, PASSWORD).status_code == 303


def test_a_new_account_signs_in_with_the_password_it_chose(app):
    browser = app.test_client()
    register(browser, STRANGER)
    assert sign_in(browser, STRANGER, PASSWORD).status_code == 303
    assert is_signed_in(browser)


# Password reset -----------------------------------------------------------------------------

def test_the_reset_form_answers_the_same_for_a_known_and_an_unknown_address(app):
    make_shopper(app, OWNER)
    first, second = app.test_client(), app.test_client()
    known = first.post("/account/forgot", data={
        "csrf_token": csrf_token(first, "/account/forgot"), "email": OWNER})
    unknown = second.post("/account/forgot", data={
        "csrf_token": csrf_token(second, "/account/forgot"), "email": STRANGER})
    assert known.status_code == unknown.status_code == 200
    assert comparable(known, OWNER) == comparable(unknown, STRANGER)
    assert outbox(app) == [("password_reset", OWNER)]
