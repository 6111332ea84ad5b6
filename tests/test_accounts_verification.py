"""Guest orders join an account only once its e-mail is proven by a mailed, single-use link."""

import re
import time
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Order
from checkout.services.accounts import VERIFY_LINK_HOURS
from tests.accounts_support import account, make_shopper, signed_in_browser
from tests.conftest import BASE_URL, csrf_token
from tests.factories import OrderFactory
from tests.mail_support import parts, smtp_server
from tests.state import text_of

OWNER = "grace@example.com"


@pytest.fixture
def smtp(app):
    with smtp_server(app) as sink:
        yield sink


@pytest.fixture
def guest_orders(app) -> list[str]:
    """Two guest orders placed with OWNER's address (typed in another case once)."""
    with app.app_context():
        numbers = [OrderFactory(email=OWNER).number, OrderFactory(email=OWNER.upper()).number,
                   OrderFactory(email="someone.else@example.com").number]
        db.session.remove()
    return numbers[:2]


def owners(app) -> dict[str, int | None]:
    with app.app_context():
        rows = db.session.execute(select(Order.number, Order.user_id)).all()
        db.session.remove()
    return dict(rows)


def register(client, email: str, password: str = "a-long-enough-password"):
    """Sign up, then sign in (registering signs nobody in); return the sign-up's response."""
    response = client.post("/account/register", data={
        "csrf_token": csrf_token(client, "/account/register"), "email": email,
        "password": password, "confirm": password})
    client.post("/account/login", data={
        "csrf_token": csrf_token(client), "email": email, "password": password})
    return response


def verify_path(smtp) -> str:
    message = smtp.messages[-1]
    assert message["Subject"] == "Fernhill Supply: confirm your e-mail address"
    text, html = parts(message)
    [url] = re.findall(rf"{re.escape(BASE_URL)}/account/verify/\S+", text)
    assert f'href="{url}"' in html
    return urlsplit(url).path


def confirm(client, path: str):
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


def listed(client) -> str:
    return text_of(client.get("/account/orders"))


def test_registering_mails_a_link_and_the_orders_join_only_once_it_is_opened(
    app, smtp, guest_orders
):
    browser = app.test_client()
    assert register(browser, OWNER).status_code == 303
    assert smtp.recipients == [[OWNER]]
    # Not yet: typing the address proves nothing.
    assert all(owners(app)[n] is None for n in guest_orders)
    assert not any(n in listed(browser) for n in guest_orders)

    path = verify_path(smtp)
    page = browser.get(path)
    assert page.status_code == 200 and OWNER in text_of(page)
    done = confirm(browser, path)

    assert done.status_code == 303 and done.headers["Location"] == "/account/"
    user = account(app, OWNER)
    assert user.email_verified_at is not None
    assert [owners(app)[n] for n in guest_orders] == [user.id, user.id]
    assert all(n in listed(browser) for n in guest_orders)
    # Somebody else's guest order stays a guest order.
    assert list(owners(app).values()).count(None) == 1


def test_someone_registering_with_anothers_address_never_sees_their_orders(
    app, smtp, guest_orders
):
    impostor = app.test_client()
    register(impostor, OWNER)
    signed_in_browser(app, OWNER)  # signing in again attaches nothing either
    assert not any(n in listed(impostor) for n in guest_orders)
    assert all(owners(app)[n] is None for n in guest_orders)
    # The link went to the mailbox, which the impostor does not read.
    assert {tuple(r) for r in smtp.recipients} == {(OWNER,)}
    for number in guest_orders:
        assert impostor.get(f"/orders/{number}").status_code == 404


def test_the_link_works_once(app, smtp, guest_orders):
    browser = app.test_client()
    register(browser, OWNER)
    path = verify_path(smtp)
    assert confirm(browser, path).status_code == 303
    verified_at = account(app, OWNER).email_verified_at

    again = confirm(browser, path)
    assert again.status_code == 400
    assert "already been used" in text_of(again)
    assert browser.get(path).status_code == 400
    assert account(app, OWNER).email_verified_at == verified_at


@pytest.mark.parametrize("token", ["forged", "eyJ1c2VyIjoxfQ.ZZZZZZ.ZZZZZZZZZZZZZZZZZZZZZZZZZZZ"])
def test_a_forged_link_is_a_400_and_attaches_nothing(app, client, guest_orders, token):
    make_shopper(app, OWNER)
    assert client.get(f"/account/verify/{token}").status_code == 400
    response = client.post(f"/account/verify/{token}",
                           data={"csrf_token": csrf_token(client)})
    assert response.status_code == 400
    assert "not valid or has expired" in text_of(response)
    assert account(app, OWNER).email_verified_at is None
    assert all(owners(app)[n] is None for n in guest_orders)


def test_an_expired_link_is_a_400_and_attaches_nothing(app, smtp, guest_orders, monkeypatch):
    browser = app.test_client()
    register(browser, OWNER)
    path = verify_path(smtp)
    token = csrf_token(browser, "/account/login")
    later = int(time.time()) + VERIFY_LINK_HOURS * 60 * 60 + 5
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    response = browser.post(path, data={"csrf_token": token})
    assert response.status_code == 400 and "expired" in text_of(response)
    assert account(app, OWNER).email_verified_at is None
    assert all(owners(app)[n] is None for n in guest_orders)


def test_a_link_opened_in_another_accounts_browser_is_refused(app, smtp, guest_orders):
    register(app.test_client(), OWNER)
    path = verify_path(smtp)
    make_shopper(app, "mallory@example.com")
    other = signed_in_browser(app, "mallory@example.com")
    assert other.get(path).status_code == 400
    response = other.post(path, data={"csrf_token": csrf_token(other, "/account/settings")})
    assert response.status_code == 400
    assert "for another account" in text_of(response)
    assert account(app, OWNER).email_verified_at is None
    assert all(owners(app)[n] is None for n in guest_orders)


def test_a_signed_out_browser_may_confirm_and_is_sent_to_sign_in(app, smtp, guest_orders):
    register(app.test_client(), OWNER)
    path = verify_path(smtp)
    mailbox = app.test_client()
    done = confirm(mailbox, path)
    assert done.status_code == 303 and done.headers["Location"].startswith("/account/login")
    user = account(app, OWNER)
    assert [owners(app)[n] for n in guest_orders] == [user.id, user.id]
    assert mailbox.get("/account/settings").status_code == 302  # the link signs nobody in


def test_a_verified_account_collects_later_guest_orders_at_sign_in(app, smtp, guest_orders):
    browser = app.test_client()
    register(browser, OWNER)
    confirm(browser, verify_path(smtp))
    with app.app_context():
        later = OrderFactory(email=OWNER).number
        db.session.remove()
    sent = len(smtp.messages)
    signed_in_browser(app, OWNER)
    assert owners(app)[later] == account(app, OWNER).id
    assert len(smtp.messages) == sent  # nothing left to prove


def test_signing_in_unverified_with_guest_orders_mails_one_link_an_hour(app, smtp):
    make_shopper(app, OWNER)
    signed_in_browser(app, OWNER)
    assert smtp.messages == []  # nothing to join: no mail
    with app.app_context():
        number = OrderFactory(email=OWNER).number
        db.session.remove()
    signed_in_browser(app, OWNER)
    signed_in_browser(app, OWNER)
    assert len(smtp.messages) == 1 and smtp.recipients == [[OWNER]]
    assert owners(app)[number] is None


def test_the_account_page_sends_a_link_on_request(app, smtp):
    make_shopper(app, OWNER)
    browser = signed_in_browser(app, OWNER)
    assert "not confirmed yet" in text_of(browser.get("/account/settings"))
    response = browser.post("/account/verify", data={
        "csrf_token": csrf_token(browser, "/account/settings")})
    assert response.status_code == 303
    confirm(browser, verify_path(smtp))
    assert "not confirmed yet" not in text_of(browser.get("/account/settings"))
    assert account(app, OWNER).email_verified_at is not None
