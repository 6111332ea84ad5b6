"""The payment reminder and the abandoned-checkout recovery, as they arrive by real SMTP."""

import re
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select, update

from checkout.db import now_utc
from checkout.domain.message_status import MessageStatus
from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import Cart, Order, OutboxMessage, Product, StockHold
from checkout.services import fulfilment, notifications, reminders, upkeep
from checkout.services.accounts import register_shopper
from tests.conftest import BASE_URL, csrf_token
from tests.mail_support import parts, smtp_server
from tests.shop import ADDRESS, add_to_cart, place_and_get_session, session_id_of, submit_checkout
from tests.state import guest_token, only_order, snapshot
from tests.test_cart import PASSWORD, sign_in
from tests.test_discounts import apply_code, make_code


@pytest.fixture
def smtp(app):
    with smtp_server(app) as sink:
        yield sink


def hold_lapses_in(app, delta: timedelta) -> None:
    """Move every active hold's expiry to now + delta (the shop's clock, not the sandbox's)."""
    with app.app_context():
        db.session.execute(update(StockHold).values(expires_at=now_utc() + delta))
        db.session.commit()
        db.session.remove()


def keys(app) -> list[str]:
    with app.app_context():
        found = list(db.session.scalars(select(OutboxMessage.key).order_by(OutboxMessage.id)))
        db.session.remove()
    return found


def remind(app) -> int:
    with app.app_context():
        written = reminders.send_payment_reminders()
        db.session.remove()
    return written


def link_in(text: str, path_part: str) -> str:
    match = re.search(rf"https?://\S+{path_part}\S*", text)
    assert match, text
    return match.group(0)


def quantity_in_cart(page: str, product_id: int) -> int | None:
    match = re.search(rf'id="qty-{product_id}"[^>]*value="(\d+)"', page)
    return int(match.group(1)) if match else None


def local(url: str) -> str:
    parsed = urlsplit(url)
    assert f"{parsed.scheme}://{parsed.netloc}" == BASE_URL
    return f"{parsed.path}?{parsed.query}"


# Payment reminder ---------------------------------------------------------------------------


def test_a_reminder_goes_once_and_its_link_resumes_the_same_payment_session(
    app, client, sandbox, products, smtp
):
    session_id = place_and_get_session(client, products["MUG"], 2)
    order = only_order(app)
    hold_lapses_in(app, timedelta(minutes=25))
    assert remind(app) == 0 and smtp.messages == []  # not yet: the hold is far off

    hold_lapses_in(app, timedelta(minutes=5))
    assert remind(app) == 1
    assert remind(app) == 0
    # The periodic task (run at once in tests) finds nothing more to send either.
    app.extensions["jobs"]["send_payment_reminders"]()
    assert keys(app) == [f"payment-reminder:{order.number}"]

    [message] = smtp.messages
    assert smtp.recipients == [[ADDRESS["email"]]]
    assert message["Subject"] == (
        f"Fernhill Supply: order {order.number} is still waiting for payment"
    )
    text, html = parts(message)
    for body in (text, html):
        assert "Stoneware Mug × 2" in body and "$48.00" in body and order.number in body
        assert "Hello Ada Lovelace" in body
    link = link_in(text, f"/checkout/orders/{order.number}/pay")
    assert link.replace("&", "&amp;") in html

    stranger = app.test_client()  # the shopper's mail program, not the browser that ordered
    page = stranger.get(local(link))
    assert page.status_code == 200
    assert "Resume payment" in page.get_data(as_text=True)
    resumed = stranger.post(local(link), data={"csrf_token": csrf_token(stranger)})
    assert session_id_of(resumed) == session_id


def test_a_reminder_sent_through_the_queue_task_arrives(app, client, sandbox, products, smtp):
    place_and_get_session(client, products["PEN"], 1)
    hold_lapses_in(app, timedelta(minutes=3))
    # The test app runs queued tasks at once (JOBS_IMMEDIATE); results are not kept.
    app.extensions["jobs"]["send_payment_reminders"]()
    assert keys(app) == [f"payment-reminder:{only_order(app).number}"]
    assert len(smtp.messages) == 1


def test_two_workers_reminding_at_once_send_one_reminder(app, client, sandbox, products, smtp):
    place_and_get_session(client, products["MUG"], 1)
    other = app.test_client()
    place_and_get_session(other, products["PEN"], 1)
    hold_lapses_in(app, timedelta(minutes=5))
    barrier = threading.Barrier(4)
    written = []

    def worker() -> None:
        with app.app_context():
            barrier.wait()
            written.append(reminders.send_payment_reminders())
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sum(written) == 2
    assert sorted(k.split(":")[0] for k in keys(app)) == ["payment-reminder"] * 2
    assert len(smtp.messages) == 2
    assert len({m["Subject"] for m in smtp.messages}) == 2


@pytest.mark.parametrize("ending", ["paid", "cancelled", "expired"])
def test_no_reminder_for_an_order_paid_cancelled_or_expired(
    app, client, sandbox, products, smtp, ending
):
    session_id = place_and_get_session(client, products["MUG"], 1)
    number = only_order(app).number
    if ending == "paid":
        assert sandbox.pay(session_id).ok
        assert all(d.ok for d in sandbox.deliver_pending())
    elif ending == "cancelled":
        cancel = f"/checkout/orders/{number}/cancel?t={guest_token(app, number)}"
        assert client.post(cancel, data={"csrf_token": csrf_token(client)}).status_code == 303
    else:
        hold_lapses_in(app, timedelta(minutes=-1))
        with app.app_context():
            assert upkeep.expire_lapsed_holds() == 1
            db.session.remove()
    assert only_order(app).status == {
        "paid": OrderStatus.PAYMENT_CONFIRMED,
        "cancelled": OrderStatus.CANCELLED,
        "expired": OrderStatus.EXPIRED,
    }[ending]
    # Had the hold been left active, these orders would be in the window now.
    hold_lapses_in(app, timedelta(minutes=5))
    assert remind(app) == 0
    assert not [k for k in keys(app) if k.startswith("payment-reminder:")]


def test_a_hostile_name_is_escaped_in_the_reminder(app, client, sandbox, products, smtp):
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    submit_checkout(client, name="<img src=x onerror=alert(1)> Eve")
    hold_lapses_in(app, timedelta(minutes=5))
    assert remind(app) == 1
    text, html = parts(smtp.messages[0])
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt; Eve" in html
    assert "Hello <img src=x onerror=alert(1)> Eve," in text


# Abandoned-checkout recovery ----------------------------------------------------------------


def expire_by_webhook(sandbox) -> None:
    sandbox.advance_clock(31 * 60)  # the session reaches its expires_at at the provider
    deliveries = sandbox.deliver_pending()
    assert deliveries and all(d.ok for d in deliveries)


def recovery_link(smtp, number: str) -> str:
    [message] = [m for m in smtp.messages if "waiting" in m["Subject"] and number in m["Subject"]]
    text, html = parts(message)
    link = link_in(text, f"/checkout/orders/{number}/restore")
    assert link.replace("&", "&amp;") in html
    return link


def test_an_order_expired_by_the_webhook_gets_one_recovery_mail_that_restores_its_items(
    app, client, sandbox, products, smtp
):
    place_and_get_session(client, products["MUG"], 2)
    number = only_order(app).number
    expire_by_webhook(sandbox)
    assert only_order(app).status == OrderStatus.EXPIRED
    # A replayed expiry and the sweeper afterwards write nothing more.
    with app.app_context():
        order = db.session.scalar(select(Order))
        fulfilment.expire(order, None, actor="test")
        db.session.commit()
        assert upkeep.expire_lapsed_holds() == 0
        db.session.remove()
    assert keys(app) == [f"recovery:{number}"]
    [message] = smtp.messages
    assert message["Subject"] == f"Fernhill Supply: your items from order {number} are waiting"
    assert message["To"] == ADDRESS["email"]
    text, html = parts(message)
    for body in (text, html):
        assert "Stoneware Mug × 2" in body and "7 days" in body
    link = recovery_link(smtp, number)

    browser = app.test_client()  # a fresh browser with an empty cart
    page = browser.get(local(link))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Stoneware Mug × 2" in body and "Put them back in my cart" in body
    restored = browser.post(local(link), data={"csrf_token": csrf_token(browser)})
    assert restored.status_code == 303 and restored.headers["Location"] == "/cart/"
    cart = browser.get("/cart/").get_data(as_text=True)
    assert "Back in your cart: Stoneware Mug." in cart
    assert quantity_in_cart(cart, products["MUG"]) == 2


def test_the_sweeper_racing_the_webhook_writes_one_recovery_mail(
    app, client, sandbox, products, smtp
):
    place_and_get_session(client, products["PEN"], 1)
    number = only_order(app).number
    hold_lapses_in(app, timedelta(seconds=-1))
    sandbox.advance_clock(31 * 60)
    barrier = threading.Barrier(2)
    errors = []

    def sweeper() -> None:
        with app.app_context():
            barrier.wait()
            try:
                upkeep.expire_lapsed_holds()
            except Exception as exc:  # reported below: the race must not fail either side
                errors.append(exc)
            db.session.remove()

    def webhook() -> None:
        barrier.wait()
        errors.extend(d for d in sandbox.deliver_pending() if not d.ok)

    threads = [threading.Thread(target=sweeper), threading.Thread(target=webhook)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert only_order(app).status == OrderStatus.EXPIRED
    assert keys(app) == [f"recovery:{number}"]
    assert len(smtp.messages) == 1


def test_a_product_retired_meanwhile_is_reported_and_skipped(
    app, client, sandbox, products, smtp
):
    assert add_to_cart(client, products["PEN"], 1).status_code == 303
    place_and_get_session(client, products["MUG"], 3)
    number = only_order(app).number
    expire_by_webhook(sandbox)
    with app.app_context():
        db.session.get(Product, products["PEN"]).is_active = False
        db.session.commit()
        db.session.remove()
    link = recovery_link(smtp, number)
    browser = app.test_client()
    browser.post(local(link), data={"csrf_token": csrf_token(browser)})
    cart = browser.get("/cart/").get_data(as_text=True)
    assert "Back in your cart: Stoneware Mug." in cart
    assert "No longer for sale: Brass Pen." in cart
    assert quantity_in_cart(cart, products["MUG"]) == 3
    assert quantity_in_cart(cart, products["PEN"]) is None


def test_a_second_restore_says_already_restored_and_adds_nothing(
    app, client, sandbox, products, smtp
):
    place_and_get_session(client, products["MUG"], 2)
    number = only_order(app).number
    expire_by_webhook(sandbox)
    link = recovery_link(smtp, number)
    browser = app.test_client()
    browser.post(local(link), data={"csrf_token": csrf_token(browser)})
    again = browser.post(local(link), data={"csrf_token": csrf_token(browser)})
    assert again.status_code == 303
    cart = browser.get("/cart/").get_data(as_text=True)
    assert f"The items of order {number} were already put back in a cart." in cart
    assert "Back in your cart" not in cart
    assert quantity_in_cart(cart, products["MUG"]) == 2


def test_the_restore_link_adds_the_items_to_the_browsers_current_cart(
    app, client, sandbox, products, smtp
):
    place_and_get_session(client, products["PEN"], 2)
    number = only_order(app).number
    expire_by_webhook(sandbox)
    link = recovery_link(smtp, number)
    # The browser that placed the order already has its cart; the items join it.
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    client.post(local(link), data={"csrf_token": csrf_token(client)})
    cart = client.get("/cart/").get_data(as_text=True)
    assert quantity_in_cart(cart, products["PEN"]) == 2
    assert quantity_in_cart(cart, products["MUG"]) == 1


def test_a_signed_in_shopper_gets_the_items_in_the_accounts_cart(
    app, client, sandbox, products, smtp
):
    place_and_get_session(client, products["PEN"], 1)
    number = only_order(app).number
    expire_by_webhook(sandbox)
    link = recovery_link(smtp, number)
    with app.app_context():
        user = register_shopper("grace@example.com", PASSWORD)
        user_id = user.id
        db.session.remove()
    browser = app.test_client()
    assert sign_in(browser, "grace@example.com").status_code == 303
    browser.post(local(link), data={"csrf_token": csrf_token(browser)})
    with app.app_context():
        cart = db.session.scalar(select(Cart).where(Cart.user_id == user_id))
        assert [(line.product_id, line.quantity) for line in cart.lines] == [
            (products["PEN"], 1)
        ]
        db.session.remove()
    # Signed in elsewhere, the account's cart shows the items too.
    elsewhere = app.test_client()
    sign_in(elsewhere, "grace@example.com")
    assert quantity_in_cart(elsewhere.get("/cart/").get_data(as_text=True), products["PEN"]) == 1


def test_a_forged_other_or_expired_restore_link_is_a_clear_4xx(
    app, client, sandbox, products, smtp
):
    place_and_get_session(client, products["MUG"], 1)
    number = only_order(app).number
    expire_by_webhook(sandbox)
    path = f"/checkout/orders/{number}/restore"
    before = snapshot(app)
    stranger = app.test_client()
    assert stranger.get(path).status_code == 404
    assert stranger.get(f"{path}?t=forged").status_code == 404
    # The guest order-page token is signed with another salt: it opens no restore.
    assert stranger.get(f"{path}?t={guest_token(app, number)}").status_code == 404
    with app.app_context():
        valid = reminders.restore_token(db.session.scalar(select(Order)))
        db.session.remove()
    assert stranger.get(f"/checkout/orders/NOPE-1/restore?t={valid}").status_code == 404

    class EightDaysAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 8 * 24 * 60 * 60

    old = URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt="order-restore", signer=EightDaysAgo
    ).dumps(number)
    gone = stranger.get(f"{path}?t={old}")
    assert gone.status_code == 410 and "expired" in gone.get_data(as_text=True)
    token = csrf_token(stranger)
    assert stranger.post(f"{path}?t={old}", data={"csrf_token": token}).status_code == 410
    # A valid link without the CSRF token changes nothing either.
    assert stranger.post(f"{path}?t={valid}").status_code == 400
    assert snapshot(app) == before


def test_a_cancelled_order_gets_no_recovery_mail(app, client, sandbox, products, smtp):
    place_and_get_session(client, products["MUG"], 1)
    number = only_order(app).number
    cancel = f"/checkout/orders/{number}/cancel?t={guest_token(app, number)}"
    assert client.post(cancel, data={"csrf_token": csrf_token(client)}).status_code == 303
    sandbox.advance_clock(31 * 60)
    sandbox.deliver_pending()
    with app.app_context():
        upkeep.expire_lapsed_holds()
        db.session.remove()
    assert only_order(app).status == OrderStatus.CANCELLED
    assert keys(app) == [] and smtp.messages == []


def test_an_expired_order_paid_late_cannot_be_restored(app, client, sandbox, products, smtp):
    place_and_get_session(client, products["MUG"], 1)
    number = only_order(app).number
    expire_by_webhook(sandbox)
    link = recovery_link(smtp, number)
    with app.app_context():
        order = db.session.scalar(select(Order))
        order.transition_to(OrderStatus.PAYMENT_CONFIRMED, actor="test")
        db.session.commit()
        db.session.remove()
    browser = app.test_client()
    page = browser.get(local(link))
    assert page.status_code == 409 and "payment confirmed" in page.get_data(as_text=True).lower()
    refused = browser.post(local(link), data={"csrf_token": csrf_token(browser)})
    assert refused.status_code == 409
    assert "cannot be put back" in refused.get_data(as_text=True)
    assert quantity_in_cart(browser.get("/cart/").get_data(as_text=True), products["MUG"]) is None


def test_a_hostile_name_is_escaped_in_the_recovery_mail(app, client, sandbox, products, smtp):
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    assert submit_checkout(client, name="<script>alert(1)</script> Eve").status_code == 303
    expire_by_webhook(sandbox)
    text, html = parts(smtp.messages[0])
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; Eve" in html
    assert "Hello <script>alert(1)</script> Eve," in text


def test_restoring_an_abandoned_checkout_puts_its_discount_code_back_too(
    app, client, sandbox, products, smtp
):
    make_code(app, "SAVE10", percent_off="10")
    assert add_to_cart(client, products["MUG"], 2).status_code == 303
    assert apply_code(client, "SAVE10").status_code == 303
    session_id_of(submit_checkout(client))
    number = only_order(app).number
    expire_by_webhook(sandbox)
    assert only_order(app).status == OrderStatus.EXPIRED
    browser = app.test_client()
    browser.post(local(recovery_link(smtp, number)), data={"csrf_token": csrf_token(browser)})
    page = browser.get("/cart/").get_data(as_text=True)
    assert "SAVE10" in page and "Stoneware Mug" in page
    with app.app_context():
        codes = sorted(c.discount_code or "" for c in db.session.scalars(select(Cart)))
        db.session.remove()
    assert codes == ["", "SAVE10"]  # the shopper's old cart was emptied by placing the order


@pytest.mark.parametrize("ending", ["paid", "cancelled", "expired"])
def test_a_queued_reminder_is_not_sent_once_its_order_no_longer_waits_for_payment(
    app, client, sandbox, products, smtp, ending
):
    session_id = place_and_get_session(client, products["MUG"], 1)
    number = only_order(app).number
    hold_lapses_in(app, timedelta(minutes=5))
    # Written, but the worker has not run yet when the order moves on.
    with notifications.messages_committed.muted():
        assert remind(app) == 1
    if ending == "paid":
        with notifications.messages_committed.muted():
            assert sandbox.pay(session_id).ok
            assert all(d.ok for d in sandbox.deliver_pending())
    elif ending == "cancelled":
        cancel = f"/checkout/orders/{number}/cancel?t={guest_token(app, number)}"
        with notifications.messages_committed.muted():
            assert client.post(cancel, data={"csrf_token": csrf_token(client)}).status_code == 303
    else:
        hold_lapses_in(app, timedelta(minutes=-1))
        with app.app_context(), notifications.messages_committed.muted():
            assert upkeep.expire_lapsed_holds() == 1
            db.session.remove()
    with app.app_context():
        notifications.deliver_due()
        reminder = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.key == f"payment-reminder:{number}"))
        db.session.remove()
    assert not [m for m in smtp.messages if "reminder" in m["Subject"].lower()
                or "still waiting" in m["Subject"].lower()]
    assert reminder.status == MessageStatus.SKIPPED
    assert reminder.sent_at is None
    assert f"order {number} is {only_order(app).status}" in reminder.last_error


def test_a_queued_reminder_still_goes_while_the_order_waits_for_payment(
    app, client, sandbox, products, smtp
):
    place_and_get_session(client, products["MUG"], 1)
    hold_lapses_in(app, timedelta(minutes=5))
    with notifications.messages_committed.muted():
        assert remind(app) == 1
    with app.app_context():
        assert notifications.deliver_due() == 1
        db.session.remove()
    assert len(smtp.messages) == 1
