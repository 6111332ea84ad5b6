"""Findings of the adversarial pass over the back office: each test shows one problem."""

import contextlib
import threading

from sqlalchemy import event, select

from checkout.extensions import db
from checkout.models import OrderFlag, Refund
from checkout.services.accounts import create_staff
from tests.conftest import csrf_token
from tests.refund_support import REFUND_FAILS_LATER, line_ids, paid_order, refund_form
from tests.shop import add_to_cart, checkout_form, session_id_of, submit_checkout
from tests.staff.conftest import PASSWORD, sign_in
from tests.state import guest_token, only_order, stock_of


def _refunds(app) -> list[tuple[int, str, str | None]]:
    with app.app_context():
        rows = [(r.amount, r.status, r.failure_reason)
                for r in db.session.scalars(select(Refund).order_by(Refund.id))]
        db.session.remove()
    return rows


def _open_flags(app) -> list[str]:
    with app.app_context():
        rows = [f.code for f in db.session.scalars(select(OrderFlag))
                if f.resolved_at is None]
        db.session.remove()
    return rows


def _first_stock_update_waits_for(start: threading.Barrier, armed: threading.local):
    """After a thread's first UPDATE of a stock row, wait until the other did its first too."""

    def after_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        if getattr(armed, "on", False) and statement.lstrip().upper().startswith("UPDATE STOCK"):
            armed.on = False
            # SQLite takes the whole database for a writer: the other thread is queued
            # behind this one and cannot reach its own stock update until this commits.
            with contextlib.suppress(threading.BrokenBarrierError):
                start.wait(timeout=5)

    return after_execute


def test_two_refunds_restocking_the_same_products_in_opposite_orders_do_not_deadlock(
    app, client, admin, sandbox, products
):
    """Refunds by lines restock in each order's line order, never in one global order.

    Order A has lines [MUG, PEN], order B [PEN, MUG]. Two admins refund all of each with
    restock at the same moment: on PostgreSQL one locks MUG's stock row then waits for PEN's,
    the other holds PEN's and waits for MUG's, and PostgreSQL kills one with a deadlock: a 500.
    """
    first = paid_order(app, client, sandbox, {products["MUG"]: 1, products["PEN"]: 1})
    second = paid_order(app, app.test_client(), sandbox,
                        {products["PEN"]: 1, products["MUG"]: 1})
    other_admin = app.test_client()
    sign_in(other_admin, "admin@example.com")
    jobs = []
    for browser, number in ((admin, first), (other_admin, second)):
        data = dict(refund_form(browser, number))
        data.update({"mode": "lines", "reason": "damaged", "note": "", "restock": "y"})
        data.update({f"line-{line_id}": "1" for line_id in line_ids(app, number).values()})
        jobs.append((browser, number, data))
    start, armed = threading.Barrier(2), threading.local()
    hook = _first_stock_update_waits_for(start, armed)
    codes: list[int | str] = []

    def click(browser, number, data) -> None:
        armed.on = True
        try:
            codes.append(browser.post(f"/staff/orders/{number}/refund", data=data).status_code)
        except Exception as exc:  # the test client re-raises what a server answers 500 with
            codes.append(type(exc).__name__)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", hook)
    try:
        threads = [threading.Thread(target=click, args=job) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        event.remove(engine, "after_cursor_execute", hook)
    assert sorted(codes, key=str) == [303, 303]
    assert len(_refunds(app)) == 2


def test_a_staff_cancel_and_a_checkout_of_the_same_products_do_not_deadlock(
    app, client, admin, sandbox, products
):
    """A paid order's cancel returns stock by product id; a checkout holds it in cart order.

    The paid order has [MUG, PEN]; a shopper checks out a cart of [PEN, MUG] at the moment an
    admin cancels it. On PostgreSQL the cancel holds MUG's stock row and waits for PEN's, the
    checkout holds PEN's and waits for MUG's: one of them dies of a deadlock (a 500).
    """
    number = paid_order(app, client, sandbox, {products["MUG"]: 1, products["PEN"]: 1})
    shopper = app.test_client()
    assert add_to_cart(shopper, products["PEN"]).status_code == 303
    assert add_to_cart(shopper, products["MUG"]).status_code == 303
    form = checkout_form(shopper)
    cancel_token = csrf_token(admin, f"/staff/orders/{number}")
    start, armed = threading.Barrier(2), threading.local()
    hook = _first_stock_update_waits_for(start, armed)
    codes: list[int | str] = []

    def cancel() -> None:
        armed.on = True
        try:
            codes.append(admin.post(f"/staff/orders/{number}/cancel",
                                    data={"csrf_token": cancel_token}).status_code)
        except Exception as exc:  # the test client re-raises what a server answers 500 with
            codes.append(type(exc).__name__)

    def checkout() -> None:
        armed.on = True
        try:
            codes.append(submit_checkout(shopper, form).status_code)
        except Exception as exc:
            codes.append(type(exc).__name__)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", hook)
    try:
        threads = [threading.Thread(target=job) for job in (cancel, checkout)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        event.remove(engine, "after_cursor_execute", hook)
    assert sorted(codes, key=str) == [303, 303]


# A valid address of 154 characters (labels under 64, the whole under 254): the forms take it,
# User.email and Order.email hold 254, but the actor columns hold 120.
LONG_EMAIL = "a" * 60 + "@" + "b" * 60 + "." + "c" * 20 + ".example.com"


def test_a_guest_with_a_long_email_can_ask_for_a_refund(app, sandbox, products):
    """The request's timeline row names order.email as actor (String(120)): PostgreSQL 500s."""
    guest = app.test_client()
    assert add_to_cart(guest, products["MUG"]).status_code == 303
    session_id = session_id_of(submit_checkout(guest, email=LONG_EMAIL))
    assert sandbox.pay(session_id, card="4242424242424242").ok
    sandbox.deliver_pending()
    number = only_order(app).number
    token = guest_token(app, number)
    [line_id] = line_ids(app, number).values()
    page = f"/orders/{number}?t={token}"
    response = guest.post(f"/orders/{number}/refund-request?t={token}", data={
        "csrf_token": csrf_token(guest, page), "reason": "It arrived chipped",
        f"line-{line_id}": "1",
    })
    assert response.status_code == 303


def test_a_staff_member_with_a_long_email_can_act_on_an_order(app, client, sandbox, products):
    """Every staff action names current_user.email as actor (String(120)): PostgreSQL 500s."""
    number = paid_order(app, client, sandbox, {products["MUG"]: 1})
    with app.app_context():
        create_staff(LONG_EMAIL, PASSWORD)
        db.session.remove()
    staff = sign_in(app.test_client(), LONG_EMAIL)
    path = f"/staff/orders/{number}"
    response = staff.post(f"{path}/notes", data={"csrf_token": csrf_token(staff, path),
                                                 "note": "Called the shopper."})
    assert response.status_code == 303
    response = staff.post(f"{path}/fulfil", data={"csrf_token": csrf_token(staff, path)})
    assert response.status_code == 303


def test_a_refund_form_sent_to_another_order_does_not_report_the_first_orders_refund(
    app, client, admin, sandbox, products
):
    """The refund key is the form's token alone, not bound to the order it was made for.

    A form of order A (refunded already) posted to order B, say by a stale tab whose URL was
    edited or a forged hidden field, finds A's refund: B gets nothing, and the admin is told
    "Refund of $5.00 is succeeded." on B's refund page.
    """
    first = paid_order(app, client, sandbox, {products["MUG"]: 1})
    second = paid_order(app, app.test_client(), sandbox, {products["PEN"]: 1})
    form = dict(refund_form(admin, first))
    form.update({"mode": "amount", "reason": "damaged", "note": "", "amount": "5.00"})
    assert admin.post(f"/staff/orders/{first}/refund", data=form,
                      follow_redirects=True).status_code == 200
    form["amount"] = "7.00"
    response = admin.post(f"/staff/orders/{second}/refund", data=form)
    page = admin.get(f"/staff/orders/{second}/refund").get_data(as_text=True)
    refunded_for_second = [r for r in _refunds(app) if r[0] == 700]
    assert refunded_for_second or response.status_code >= 400, "nothing refunded on B, 303"
    assert "Refunded $5.00." not in page and "Refunded $7.00." in page


def test_a_unit_put_back_by_a_refund_that_failed_is_not_put_back_again(
    app, client, admin, sandbox, products
):
    """A failed refund's units become refundable again, but its restock stays done.

    Refunding the same unit again with "put back in stock" adds it to the shelf a second
    time: one mug sold, two returned in the ledger, on_hand one above what is on the shelf.
    """
    number = paid_order(app, client, sandbox, {products["MUG"]: 1}, card=REFUND_FAILS_LATER)
    [line_id] = line_ids(app, number).values()
    assert stock_of(app, products["MUG"]) == (19, 0)

    def refund_the_mug_with_restock():
        data = dict(refund_form(admin, number))
        data.update({"mode": "lines", "reason": "damaged", "note": "", "restock": "y",
                     f"line-{line_id}": "1"})
        return admin.post(f"/staff/orders/{number}/refund", data=data)

    assert refund_the_mug_with_restock().status_code == 303
    sandbox.deliver_pending()
    assert [r[1] for r in _refunds(app)] == ["failed"]
    assert stock_of(app, products["MUG"]) == (20, 0)
    # The admin refunds the mug again, ticking "put back in stock" as the form offers.
    refund_the_mug_with_restock()
    assert stock_of(app, products["MUG"]) == (20, 0)
