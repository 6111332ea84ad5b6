"""Guest order links expire after ORDER_LINK_DAYS; an expired one offers to mail a new link."""

import json
import time
from datetime import UTC, datetime

import pytest
from itsdangerous import TimestampSigner, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import OutboxMessage
from checkout.services import order_links
from checkout.services.orders import ORDER_LINK_SALT
from tests.conftest import csrf_token
from tests.factories import OrderFactory
from tests.state import guest_token

DAY = 24 * 60 * 60


def token_issued_days_ago(app, number: str, days: float) -> str:
    """A genuine order link token, signed `days` ago."""
    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - days * DAY)

    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=ORDER_LINK_SALT,
                                  signer=Then).dumps(number)


@pytest.fixture
def order(app):
    with app.app_context():
        made = OrderFactory(email="Ada@Example.com")
        number = made.number
        db.session.remove()
    return number


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


def test_a_fresh_link_opens_the_order(app, client, order):
    assert client.get(f"/orders/{order}", query_string={"t": guest_token(app, order)}
                      ).status_code == 200
    token = token_issued_days_ago(app, order, 89)
    assert client.get(f"/orders/{order}", query_string={"t": token}).status_code == 200


@pytest.mark.parametrize("path", ["/orders/{n}", "/checkout/orders/{n}/pay",
                                  "/orders/{n}/invoice"])
def test_a_link_older_than_order_link_days_shows_the_new_link_form(app, client, order, path):
    token = token_issued_days_ago(app, order, 91)
    page = client.get(path.format(n=order), query_string={"t": token})
    body = page.get_data(as_text=True)
    assert page.status_code == 410
    assert "This order link has expired" in body and "Send me a new link" in body
    assert f'action="/orders/{order}/new-link"' in body
    # It shows nothing of the order but its number (which the link itself carries).
    assert "Example.com" not in body and "ada@" not in body.lower()


def test_the_lifetime_is_the_setting(app, client, order):
    token = token_issued_days_ago(app, order, 3)
    app.config["ORDER_LINK_DAYS"] = 2
    try:
        assert client.get(f"/orders/{order}", query_string={"t": token}).status_code == 410
    finally:
        app.config["ORDER_LINK_DAYS"] = 90


def test_an_undated_link_from_before_lifetimes_counts_as_expired(app, client, order):
    undated = URLSafeSerializer(app.config["SECRET_KEY"], salt=ORDER_LINK_SALT).dumps(order)
    assert client.get(f"/orders/{order}", query_string={"t": undated}).status_code == 410


def test_a_forged_or_foreign_link_is_still_not_found(app, client, order):
    with app.app_context():
        other = OrderFactory().number
        db.session.remove()
    for token in ("nonsense", token_issued_days_ago(app, other, 91),
                  URLSafeTimedSerializer("another-key", salt=ORDER_LINK_SALT).dumps(order)):
        assert client.get(f"/orders/{order}", query_string={"t": token}).status_code == 404


def ask(client, number: str, email: str):
    return client.post(f"/orders/{number}/new-link",
                       data={"csrf_token": csrf_token(client), "email": email})


def test_the_orders_address_gets_a_fresh_link_that_opens_the_order(app, client, order):
    answer = ask(client, order, "  ada@example.COM ")
    assert answer.status_code == 200
    sent = outbox(app)
    assert [(m.template, m.recipient) for m in sent] == [("order_link", "Ada@Example.com")]
    token = json.loads(sent[0].context)["access_token"]
    assert client.get(f"/orders/{order}", query_string={"t": token}).status_code == 200


def test_the_answer_is_the_same_whoever_asks_and_only_the_owner_gets_mail(app, client, order):
    matched = ask(client, order, "ada@example.com").get_data(as_text=True)
    wrong_address = ask(client, order, "eve@example.com").get_data(as_text=True)
    no_such_order = ask(client, "ZZZZ-9999", "ada@example.com")
    assert no_such_order.status_code == 200
    strip = lambda page, number: page.replace(number, "N")  # noqa: E731
    assert strip(matched, order) == strip(wrong_address, order)
    assert strip(matched, order) == strip(no_such_order.get_data(as_text=True), "ZZZZ-9999")
    assert [m.recipient for m in outbox(app)] == ["Ada@Example.com"]


def test_asking_again_and_again_sends_one_mail_per_ten_minutes(app, client, order):
    for _ in range(5):
        ask(client, order, "ada@example.com")
    assert len(outbox(app)) == 1
    with app.app_context():
        later = time.time() + order_links.RESEND_WINDOW_SECONDS
        order_links.send_new_link(order, "ada@example.com", now=datetime.fromtimestamp(later, UTC))
        db.session.remove()
    assert len(outbox(app)) == 2


@pytest.mark.parametrize("email", ["", "x" * 255, "ada\x01@example.com"])
def test_a_bad_address_gets_the_form_back_and_sends_nothing(app, client, order, email):
    answer = ask(client, order, email)
    assert answer.status_code == 422
    assert "Send me a new link" in answer.get_data(as_text=True)
    assert outbox(app) == []


def test_the_form_without_its_csrf_token_is_refused(app, client, order):
    answer = client.post(f"/orders/{order}/new-link", data={"email": "ada@example.com"})
    assert answer.status_code == 400
    assert outbox(app) == []
