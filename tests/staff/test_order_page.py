"""The staff order page: what it shows, and every action from every status."""

import re
import threading

import pytest
import stripe
from sqlalchemy import func, select

from checkout.domain.carriers import tracking_url
from checkout.domain.fulfilment_actions import StaffAction
from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import PaymentStatus, RefundStatus
from checkout.extensions import db
from checkout.models import (
    Order,
    OrderEvent,
    OrderFlag,
    OutboxMessage,
    Payment,
    Refund,
    StockMovement,
    User,
)
from checkout.models.order import EventKind, FlagCode
from checkout.sandbox_wiring import sandbox_http_client
from checkout.services import staff_orders
from checkout.services.accounts import register_shopper
from tests.conftest import csrf_token
from tests.factories import OrderFactory, PaymentFactory, ProductFactory
from tests.mail_support import parts, smtp_server
from tests.shop import add_to_cart, place_and_get_session, submit_checkout
from tests.staff.conftest import sign_in
from tests.state import guest_token, only_order, snapshot, stock_of, text_of

STAFF_EMAIL = "staff@example.com"
ADMIN_EMAIL = "admin@example.com"
HOSTILE = "<script>alert(1)</script> Eve"

# What staff may do from each status, written out by hand (not derived from the code).
LEGAL = {
    StaffAction.FULFIL: {OrderStatus.PAYMENT_CONFIRMED},
    StaffAction.SHIP: {OrderStatus.AWAITING_SHIPMENT},
    StaffAction.DELIVER: {OrderStatus.SHIPPED},
    StaffAction.CANCEL: {
        OrderStatus.PENDING_PAYMENT, OrderStatus.PAYMENT_CONFIRMED, OrderStatus.AWAITING_SHIPMENT,
    },
}
RESULT = {
    StaffAction.FULFIL: OrderStatus.AWAITING_SHIPMENT,
    StaffAction.SHIP: OrderStatus.SHIPPED,
    StaffAction.DELIVER: OrderStatus.DELIVERED,
    StaffAction.CANCEL: OrderStatus.CANCELLED,
}
SHIPMENT = {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"}


def make_order(app, status: OrderStatus = OrderStatus.AWAITING_SHIPMENT, **fields) -> str:
    with app.app_context():
        number = OrderFactory(status=status, **fields).number
        db.session.remove()
    return number


def state(app) -> dict:
    """The shop's rows (tests.state) plus what the order page's actions write."""
    found = snapshot(app)
    with app.app_context():
        for model in (OrderEvent, OrderFlag, OutboxMessage, Refund, StockMovement):
            found[model.__name__] = db.session.scalar(select(func.count()).select_from(model))
        found["tracking"] = sorted(
            (o.number, o.tracking_carrier or "", o.tracking_number or "")
            for o in db.session.scalars(select(Order))
        )
        found["flags"] = sorted(
            (f.id, str(f.resolved_at), f.resolution or "")
            for f in db.session.scalars(select(OrderFlag))
        )
        db.session.remove()
    return found


def post(client, path: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client), **data})


def act(client, number: str, action: StaffAction):
    data = SHIPMENT if action == StaffAction.SHIP else {}
    return post(client, f"/staff/orders/{number}/{action}", **data)


def order_of(app, number: str) -> Order:
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.number == number))
        order.events, order.flags  # noqa: B018 - loaded before the session goes
        db.session.expunge_all()
        return order


def staff_id(app, email: str = STAFF_EMAIL) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def offered(page_html: str, number: str) -> set[str]:
    """The actions whose forms the page shows."""
    return set(re.findall(rf'action="/staff/orders/{re.escape(number)}/(\w+)"', page_html))


@pytest.mark.parametrize("action", list(StaffAction))
@pytest.mark.parametrize("status", list(OrderStatus))
def test_every_action_from_every_status(app, admin, status, action):
    number = make_order(app, status)
    page = admin.get(f"/staff/orders/{number}")
    assert page.status_code == 200
    legal = status in LEGAL[action]
    assert (action in offered(page.get_data(as_text=True), number)) == legal
    before = state(app)

    response = act(admin, number, action)

    order = order_of(app, number)
    if legal:
        assert response.status_code == 303, text_of(response)
        assert order.status == RESULT[action]
        last = order.events[-1]
        assert (last.kind, last.actor, last.actor_user_id) == (
            EventKind.STATUS, ADMIN_EMAIL, staff_id(app, ADMIN_EMAIL))
        assert (last.from_status, last.to_status) == (status, RESULT[action])
    else:
        assert response.status_code == 409
        assert "not possible now" in text_of(response)
        assert state(app) == before


def test_the_page_shows_the_order_its_money_customer_and_timeline(app, staff):
    with app.app_context():
        user = register_shopper("buyer@example.com", "a-long-enough-password")
        payment = PaymentFactory(order__user_id=user.id, order__ship_name="Grace Hopper",
                                 order__ship_city="Arlington")
        order = db.session.get(Order, payment.order_id)
        order.flag(FlagCode.DISPUTED, "dispute dp_123 opened", actor="stripe")
        db.session.add(Refund(order_id=order.id, payment_id=payment.id, amount=500,
                              currency="USD", reason="requested_by_customer",
                              idempotency_key="k-1", provider_refund_id="re_test_42",
                              status=RefundStatus.SUCCEEDED, requested_by="admin@example.com"))
        order.record(EventKind.PAYMENT, "Payment of {amount} received.", actor="stripe",
                     amount=order.total)
        db.session.commit()
        number, total, line = order.number, order.total, order.lines[0].title
        intent, session = payment.payment_intent_id, payment.checkout_session_id
        db.session.remove()

    page = text_of(staff.get(f"/staff/orders/{number}"))
    for shown in (number, line, "Grace Hopper", "Arlington", "buyer@example.com", intent,
                  session, "re_test_42", "$5.00", "dispute dp_123 opened", "by stripe",
                  "answer the dispute"):
        assert shown in page, shown
    assert f"${total / 100:.2f}" in page
    assert "Subtotal" in page and "Total" in page


def test_an_unknown_order_is_a_404_for_every_page_and_action(app, staff):
    assert staff.get("/staff/orders/NOPE-0000").status_code == 404
    for action in ("fulfil", "ship", "deliver", "cancel", "notes", "flags/1/resolve"):
        assert post(staff, f"/staff/orders/NOPE-0000/{action}", note="x").status_code == 404


def test_every_flag_reason_has_something_to_do():
    assert set(staff_orders.FLAG_GUIDANCE) == set(FlagCode)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"carrier": "", "tracking_number": "1Z1"}, "Enter the carrier."),
        ({"carrier": "UPS", "tracking_number": "  "}, "Enter the tracking number."),
        ({"carrier": "UPS", "tracking_number": "1" * 41}, "at most 40 characters"),
        ({"carrier": "U" * 61, "tracking_number": "1Z1"}, "to 60 characters"),
        ({"carrier": "UPS", "tracking_number": "1Z\x0799"}, "only letters, digits"),
        ({"carrier": "UPS", "tracking_number": "1Z<b>"}, "only letters, digits"),
        ({"carrier": "U\x1bPS", "tracking_number": "1Z1"}, "control characters"),
    ],
)
def test_a_bad_shipment_is_refused_with_a_clear_message_and_nothing_written(
    app, staff, fields, message
):
    number = make_order(app)
    before = state(app)
    response = post(staff, f"/staff/orders/{number}/ship", **fields)
    assert response.status_code == 422
    assert message in text_of(response)
    assert state(app) == before


def test_shipping_mails_the_shopper_once_with_the_tracking_link(app, staff):
    number = make_order(app, ship_name=HOSTILE, email="grace@example.com")
    link = tracking_url("UPS", SHIPMENT["tracking_number"])
    with smtp_server(app) as smtp:
        assert act(staff, number, StaffAction.SHIP).status_code == 303
        assert act(staff, number, StaffAction.SHIP).status_code == 409
    [message] = smtp.messages
    assert message["To"] == "grace@example.com"
    assert message["Subject"] == f"Fernhill Supply: order {number} has shipped"
    text, html = parts(message)
    for body in (text, html):
        assert "Fernhill Supply" in body and SHIPMENT["tracking_number"] in body
        assert "UPS" in body
    assert link in text and f'href="{link}"' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    with app.app_context():
        keys = list(db.session.scalars(select(OutboxMessage.key)))
    assert keys == [f"order-shipped:{number}"]


def test_the_shopper_sees_carrier_tracking_number_and_link(app, staff, client):
    number = make_order(app)
    assert act(staff, number, StaffAction.SHIP).status_code == 303
    page = client.get(f"/orders/{number}?t={guest_token(app, number)}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Shipped with UPS" in text_of(page) and SHIPMENT["tracking_number"] in html
    assert f'href="{tracking_url("UPS", SHIPMENT["tracking_number"])}"' in html


def test_an_unknown_carrier_shows_the_number_without_a_link(app, staff, client):
    number = make_order(app)
    response = post(staff, f"/staff/orders/{number}/ship", carrier="Bob's Vans",
                    tracking_number="BV-42")
    assert response.status_code == 303
    page = text_of(client.get(f"/orders/{number}?t={guest_token(app, number)}"))
    assert "Shipped with Bob's Vans" in page and "BV-42" in page
    assert "Track your parcel" not in page


def test_two_staff_shipping_at_once_make_one_shipment_and_one_email(app, staff):
    number = make_order(app)
    second = sign_in(app.test_client(), STAFF_EMAIL)
    tokens = [csrf_token(c) for c in (staff, second)]
    start = threading.Barrier(2)
    answers = []

    def click(client, token, tracking):
        start.wait()
        answers.append(client.post(f"/staff/orders/{number}/ship", data={
            "csrf_token": token, "carrier": "DHL", "tracking_number": tracking}).status_code)

    threads = [threading.Thread(target=click, args=(c, t, n))
               for c, t, n in ((staff, tokens[0], "111"), (second, tokens[1], "222"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [303, 409]
    order = order_of(app, number)
    shipped = [e for e in order.events if e.to_status == OrderStatus.SHIPPED]
    assert len(shipped) == 1
    assert order.tracking_number in shipped[0].message
    with app.app_context():
        assert list(db.session.scalars(select(OutboxMessage.key))) == [
            f"order-shipped:{number}"]


def _stripe(app) -> stripe.StripeClient:
    base, http_client = sandbox_http_client(app)
    return stripe.StripeClient(app.config["STRIPE_SECRET_KEY"], base_addresses={"api": base},
                               http_client=http_client)


def test_cancelling_an_unpaid_order_expires_its_session_and_releases_the_stock(
    app, client, staff, sandbox, products
):
    session_id = place_and_get_session(client, products["PEN"], 2)
    assert stock_of(app, products["PEN"]) == (3, 2)
    number = only_order(app).number

    assert act(staff, number, StaffAction.CANCEL).status_code == 303

    assert _stripe(app).v1.checkout.sessions.retrieve(session_id).status == "expired"
    assert stock_of(app, products["PEN"]) == (3, 0)
    order = order_of(app, number)
    assert order.status == OrderStatus.CANCELLED
    assert [(e.actor, e.actor_user_id) for e in order.events[-2:]] == [
        (STAFF_EMAIL, staff_id(app))] * 2


def _paid_order(app, client, sandbox, products) -> tuple[str, str]:
    assert add_to_cart(client, products["PEN"], 2).status_code == 303
    session_id = submit_checkout(client).headers["Location"].rsplit("/", 1)[1]
    assert sandbox.pay(session_id).ok
    assert all(d.ok for d in sandbox.deliver_pending())
    order = only_order(app)
    assert order.status == OrderStatus.PAYMENT_CONFIRMED
    assert stock_of(app, products["PEN"]) == (1, 0)
    return order.number, session_id


@pytest.mark.parametrize("fulfil_first", [False, True])
def test_cancelling_a_paid_order_refunds_it_in_full_and_returns_the_stock(
    app, client, staff, admin, sandbox, products, fulfil_first
):
    number, _ = _paid_order(app, client, sandbox, products)
    if fulfil_first:
        assert act(staff, number, StaffAction.FULFIL).status_code == 303

    assert act(admin, number, StaffAction.CANCEL).status_code == 303
    assert act(admin, number, StaffAction.CANCEL).status_code == 409

    assert stock_of(app, products["PEN"]) == (3, 0)
    with app.app_context():
        payment = db.session.scalar(select(Payment))
        [refund] = db.session.scalars(select(Refund))
        assert refund.amount == payment.amount == db.session.scalar(select(Order.total))
        assert refund.idempotency_key == f"staff-cancel-{number}-{payment.id}"
        assert refund.requested_by == ADMIN_EMAIL
        intent, paid = payment.payment_intent_id, payment.amount
        db.session.remove()
    [at_provider] = _stripe(app).v1.refunds.list(params={"payment_intent": intent}).data
    assert at_provider.amount == paid and at_provider.id == refund.provider_refund_id
    assert all(d.ok for d in sandbox.deliver_pending())
    with app.app_context():
        assert db.session.scalar(select(Payment.status)) == PaymentStatus.REFUNDED
        assert db.session.scalar(select(Refund.status)) == RefundStatus.SUCCEEDED
    order = order_of(app, number)
    assert order.status == OrderStatus.CANCELLED
    cancelled = [e for e in order.events if e.to_status == OrderStatus.CANCELLED]
    assert [(e.actor, e.actor_user_id) for e in cancelled] == [
        (ADMIN_EMAIL, staff_id(app, ADMIN_EMAIL))]


def test_a_bank_debit_in_flight_cannot_be_cancelled_by_staff(app, staff, client, sandbox,
                                                             products):
    session_id = place_and_get_session(client, products["PEN"], 1)
    assert sandbox.pay(session_id, method="bank_debit").outcome == "processing"
    assert all(d.ok for d in sandbox.deliver_pending())
    number = only_order(app).number
    assert only_order(app).status == OrderStatus.PAYMENT_PROCESSING
    page = staff.get(f"/staff/orders/{number}").get_data(as_text=True)
    assert "cancel" not in offered(page, number) and "wait until it settles" in page
    assert act(staff, number, StaffAction.CANCEL).status_code == 409


def test_an_internal_note_is_on_the_staff_timeline_and_never_the_shoppers(app, staff, client):
    number = make_order(app, OrderStatus.PAYMENT_CONFIRMED)
    response = post(staff, f"/staff/orders/{number}/notes", note="Called the shopper: fragile")
    assert response.status_code == 303
    assert "Called the shopper: fragile" in text_of(staff.get(f"/staff/orders/{number}"))
    last = order_of(app, number).events[-1]
    assert (last.kind, last.actor, last.actor_user_id) == (EventKind.NOTE, STAFF_EMAIL,
                                                           staff_id(app))
    shopper_page = client.get(f"/orders/{number}?t={guest_token(app, number)}")
    assert shopper_page.status_code == 200
    assert "fragile" not in text_of(shopper_page)
    # Staff looking at the shopper's page see what the shopper sees.
    assert "fragile" not in text_of(staff.get(f"/orders/{number}"))


@pytest.mark.parametrize(("note", "message"), [
    ("", "Write the note."), ("x" * 2001, "to 2000 characters"),
    ("bell\x07", "control characters"),
])
def test_a_bad_note_is_refused_and_nothing_written(app, staff, note, message):
    number = make_order(app)
    before = state(app)
    response = post(staff, f"/staff/orders/{number}/notes", note=note)
    assert response.status_code == 422 and message in text_of(response)
    assert state(app) == before


def _flagged_order(app) -> tuple[str, int]:
    with app.app_context():
        order = OrderFactory(status=OrderStatus.PAYMENT_CONFIRMED)
        order.flag(FlagCode.STOCK_SHORTAGE, "paid after the hold lapsed", actor="stripe")
        db.session.commit()
        found = order.number, order.flags[0].id
        db.session.remove()
    return found


def test_resolving_a_flag_keeps_the_note_and_who_and_hides_the_note_from_the_shopper(
    app, staff, client
):
    number, flag_id = _flagged_order(app)
    page = text_of(staff.get(f"/staff/orders/{number}"))
    assert "Needs attention" in page and "Restock and ship it" in page
    path = f"/staff/orders/{number}/flags/{flag_id}/resolve"

    response = post(staff, path, **{f"flag-{flag_id}-note": "Restocked from the back room"})

    assert response.status_code == 303
    account = staff_id(app)
    with app.app_context():
        flag = db.session.get(OrderFlag, flag_id)
        assert flag.resolved_at is not None
        assert (flag.resolved_by, flag.resolved_by_user_id, flag.resolution) == (
            STAFF_EMAIL, account, "Restocked from the back room")
        db.session.remove()
    page = text_of(staff.get(f"/staff/orders/{number}"))
    assert "Needs attention" not in page and "Resolved flags" in page
    assert "Restocked from the back room" in page
    last = order_of(app, number).events[-1]
    assert (last.kind, last.actor) == (EventKind.NOTE, STAFF_EMAIL)
    assert "back room" not in text_of(client.get(f"/orders/{number}?t={guest_token(app, number)}"))

    before = state(app)
    again = post(staff, path, **{f"flag-{flag_id}-note": "again"})
    assert again.status_code == 409 and "already resolved" in text_of(again)
    assert state(app) == before


def test_a_flag_is_resolved_only_on_its_own_order_and_with_a_note(app, staff):
    number, flag_id = _flagged_order(app)
    other = make_order(app)
    before = state(app)
    wrong_order = post(staff, f"/staff/orders/{other}/flags/{flag_id}/resolve",
                       **{f"flag-{flag_id}-note": "done"})
    assert wrong_order.status_code == 404
    empty = post(staff, f"/staff/orders/{number}/flags/{flag_id}/resolve",
                 **{f"flag-{flag_id}-note": " "})
    assert empty.status_code == 422 and "Write the note." in text_of(empty)
    assert state(app) == before


def test_a_shopper_cannot_use_the_order_page(app, shopper):
    number = make_order(app)
    before = state(app)
    assert shopper.get(f"/staff/orders/{number}").status_code == 403
    assert act(shopper, number, StaffAction.SHIP).status_code == 403
    assert state(app) == before


def test_a_staff_action_names_the_staff_account_on_the_timeline(app, admin):
    with app.app_context():
        product = ProductFactory()
        number = OrderFactory(status=OrderStatus.PAYMENT_CONFIRMED,
                              items=[(product, 1)]).number
        db.session.remove()
    assert act(admin, number, StaffAction.FULFIL).status_code == 303
    page = text_of(admin.get(f"/staff/orders/{number}"))
    assert "Fulfilment started." in page and "by admin@example.com" in page


@pytest.mark.parametrize("status", list(OrderStatus))
def test_notes_and_flag_resolutions_are_allowed_from_every_status(app, staff, status):
    with app.app_context():
        order = OrderFactory(status=status)
        order.flag(FlagCode.PAYMENT_MISMATCH, "amount differs", actor="stripe")
        db.session.commit()
        number, flag_id = order.number, order.flags[0].id
        db.session.remove()
    page = staff.get(f"/staff/orders/{number}").get_data(as_text=True)
    assert f"/flags/{flag_id}/resolve" in page and f"/staff/orders/{number}/notes" in page
    assert post(staff, f"/staff/orders/{number}/notes", note="checked").status_code == 303
    resolved = post(staff, f"/staff/orders/{number}/flags/{flag_id}/resolve",
                    **{f"flag-{flag_id}-note": "matched by hand"})
    assert resolved.status_code == 303
    order = order_of(app, number)
    assert order.status == status
    assert [(e.kind, e.actor, e.actor_user_id) for e in order.events[-2:]] == [
        (EventKind.NOTE, STAFF_EMAIL, staff_id(app))] * 2
    assert order.flags[0].resolved_at is not None


def test_plain_staff_are_not_offered_a_paid_orders_cancel(app, staff):
    number = make_order(app, OrderStatus.PAYMENT_CONFIRMED)
    page = staff.get(f"/staff/orders/{number}").get_data(as_text=True)
    assert "cancel" not in offered(page, number)
    assert "Only an admin can cancel this order" in text_of(staff.get(f"/staff/orders/{number}"))
    assert "fulfil" in offered(page, number)
