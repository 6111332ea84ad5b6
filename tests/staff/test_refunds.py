"""An admin's refund of an order: by amount or lines, restock, once per form, never too much."""

import threading

from sqlalchemy import select

from checkout.domain.errors import GatewayUnavailable
from checkout.domain.payment_status import PaymentStatus, RefundStatus
from checkout.extensions import db
from checkout.models import OrderEvent, OrderFlag, Payment, RefundLine, StockMovement, User
from checkout.models.order import FlagCode
from checkout.services import refunds
from tests.conftest import csrf_token
from tests.refund_support import (
    REFUND_FAILS_LATER,
    ledger_state,
    line_ids,
    paid_order,
    payment_of,
    refund_form,
    refunds_of,
)
from tests.staff.conftest import sign_in
from tests.state import guest_token, stock_of, text_of


def _refund(admin, number: str, form: dict | None = None, **fields):
    data = dict(form or refund_form(admin, number))
    data.update({"mode": "amount", "reason": "damaged", "note": ""})
    data.update(fields)
    return admin.post(f"/staff/orders/{number}/refund", data=data)


def _admin_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == "admin@example.com"))


def test_the_form_is_prefilled_with_what_is_left_counting_pending_and_outside_refunds(
    app, client, admin, sandbox, products
):
    number = paid_order(app, client, sandbox, {products["MUG"]: 2})
    page = text_of(admin.get(f"/staff/orders/{number}/refund"))
    assert 'name="amount" type="text" value="48.00"' in page
    with app.app_context():
        intent = db.session.scalar(select(Payment.payment_intent_id))
    sandbox.dashboard_refund(intent, amount=800)
    sandbox.deliver_pending()
    page = text_of(admin.get(f"/staff/orders/{number}/refund"))
    assert 'name="amount" type="text" value="40.00"' in page
    assert "Partially refunded" in page and "stripe dashboard" in page


def test_a_refund_by_amount_is_made_recorded_with_its_actor_and_labelled(
    app, client, admin, sandbox, products
):
    number = paid_order(app, client, sandbox, {products["MUG"]: 2})
    response = _refund(admin, number, amount="12.50", reason="other", note="Scratched")
    assert response.status_code == 303
    assert refunds_of(app) == [(1250, RefundStatus.SUCCEEDED, "other")]
    assert payment_of(app) == (4800, 1250, PaymentStatus.PARTIALLY_REFUNDED)
    page = text_of(admin.get(response.headers["Location"]))
    assert "Refunded $12.50." in page and "Partially refunded" in page
    assert "Scratched" in page and "re_" in page
    admin_id = _admin_id(app)
    with app.app_context():
        rows = db.session.scalars(select(OrderEvent).where(
            OrderEvent.message.like("Refund %"))).all()
        assert {(e.actor, e.actor_user_id) for e in rows} == {("admin@example.com", admin_id)}
        assert any("Scratched" in e.text for e in rows)
    shopper_page = text_of(client.get(f"/orders/{number}?t={guest_token(app, number)}"))
    assert "Partially refunded" in shopper_page and "$12.50 · refunded" in shopper_page


def test_refunding_everything_labels_the_order_refunded_for_staff_and_shopper(
    app, client, admin, sandbox, products
):
    number = paid_order(app, client, sandbox, {products["MUG"]: 2})
    assert _refund(admin, number, amount="48.00").status_code == 303
    assert payment_of(app) == (4800, 4800, PaymentStatus.REFUNDED)
    staff_page = text_of(admin.get(f"/staff/orders/{number}/refund"))
    assert "Nothing is left to refund" in staff_page
    assert '<span class="status status-refund">Refunded</span>' in staff_page
    shopper_page = text_of(client.get(f"/orders/{number}?t={guest_token(app, number)}"))
    assert '<span class="status status-refund">Refunded</span>' in shopper_page


def test_a_refund_by_lines_with_restock_gives_back_the_lines_share_and_the_units(
    app, client, admin, sandbox, products
):
    number = paid_order(app, client, sandbox, {products["MUG"]: 2, products["PEN"]: 1})
    ids = line_ids(app, number)
    before = stock_of(app, products["MUG"])
    response = _refund(admin, number, mode="lines", restock="y",
                       **{f"line-{ids['MUG']}": "1", f"line-{ids['PEN']}": ""})
    assert response.status_code == 303, text_of(response)
    assert refunds_of(app) == [(2400, RefundStatus.SUCCEEDED, "damaged")]
    assert stock_of(app, products["MUG"]) == (before[0] + 1, before[1])
    with app.app_context():
        [movement] = db.session.scalars(
            select(StockMovement).where(StockMovement.reason == "return")).all()
        assert (movement.product_id, movement.delta) == (products["MUG"], 1)
        assert movement.order_id is not None
        [line] = db.session.scalars(select(RefundLine)).all()
        assert (line.order_line_id, line.quantity, line.restocked) == (ids["MUG"], 1, True)
    page = text_of(admin.get(f"/staff/orders/{number}/refund"))
    # The refunded unit is counted: one mug is left to refund.
    assert 'max="1" value="" aria-label="Units of Stoneware Mug' in page


def test_a_refund_by_lines_without_restock_moves_no_stock(app, client, admin, sandbox, products):
    number = paid_order(app, client, sandbox, {products["PEN"]: 2})
    ids = line_ids(app, number)
    before = stock_of(app, products["PEN"])
    response = _refund(admin, number, mode="lines", **{f"line-{ids['PEN']}": "2"})
    assert response.status_code == 303
    assert refunds_of(app) == [(2500, RefundStatus.SUCCEEDED, "damaged")]
    assert stock_of(app, products["PEN"]) == before
    with app.app_context():
        assert db.session.scalars(select(StockMovement).where(
            StockMovement.reason == "return")).all() == []
        [line] = db.session.scalars(select(RefundLine)).all()
        assert line.restocked is False


def test_more_units_than_are_left_on_a_line_are_refused_and_nothing_is_written(
    app, client, admin, sandbox, products
):
    number = paid_order(app, client, sandbox, {products["PEN"]: 2})
    ids = line_ids(app, number)
    before = ledger_state(app)
    response = _refund(admin, number, mode="lines", restock="y", **{f"line-{ids['PEN']}": "3"})
    assert response.status_code == 409
    assert "Brass Pen: 3 cannot be refunded, 2 of 2 are left to refund." in text_of(response)
    assert ledger_state(app) == before


def test_an_over_refund_is_refused_with_what_is_left_and_nothing_is_written(
    app, client, admin, sandbox, products
):
    number = paid_order(app, client, sandbox, {products["MUG"]: 2})
    assert _refund(admin, number, amount="40.00").status_code == 303
    before = ledger_state(app)
    response = _refund(admin, number, amount="8.01")
    assert response.status_code == 409
    assert "Only $8.00 of this payment is left to refund." in text_of(response)
    assert ledger_state(app) == before


def test_bad_input_gets_a_clear_message_and_changes_nothing(
    app, client, admin, sandbox, products
):
    number = paid_order(app, client, sandbox, {products["MUG"]: 2})
    ids = line_ids(app, number)
    before = ledger_state(app)
    cases = [
        ({"amount": "twelve"}, "Enter an amount like 19.99."),
        ({"amount": "1.234"}, "USD amounts have 2 decimal places."),
        ({"amount": ""}, "Enter the amount to refund."),
        ({"amount": "0"}, "A refund must be for more than nothing."),
        ({"reason": ""}, "Choose a reason."),
        ({"reason": "fraudulent"}, "Not a valid choice."),
        ({"reason": "other", "note": " "}, "Say why, for a refund for another reason."),
        ({"mode": "lines", f"line-{ids['MUG']}": "-1"}, "whole number of units"),
        ({"mode": "lines", f"line-{ids['MUG']}": "0"}, "Choose at least one unit to refund."),
        ({"mode": "lines", "line-999999": "1"}, "Choose at least one unit to refund."),
        ({"mode": "everything"}, "Not a valid choice."),
        ({"refund_token": "short"}, "This form is out of date: open the refund page again."),
        ({"amount": "5.00", "restock": "y"}, "Only a refund by lines can put units back"),
    ]
    for fields, message in cases:
        response = _refund(admin, number, **fields)
        assert response.status_code in (409, 422), (fields, response.status_code)
        assert message in text_of(response), (fields, text_of(response))
    assert ledger_state(app) == before


def test_the_same_form_sent_twice_refunds_once(app, client, admin, sandbox, products):
    number = paid_order(app, client, sandbox, {products["MUG"]: 2})
    ids = line_ids(app, number)
    form = refund_form(admin, number)
    fields = {"mode": "lines", "restock": "y", f"line-{ids['MUG']}": "1"}
    first = _refund(admin, number, form, **fields)
    second = _refund(admin, number, form, **fields)
    assert (first.status_code, second.status_code) == (303, 303)
    assert refunds_of(app) == [(2400, RefundStatus.SUCCEEDED, "damaged")]
    with app.app_context():
        assert len(db.session.scalars(select(StockMovement).where(
            StockMovement.reason == "return")).all()) == 1


def _race(app, number: str, forms: list[dict], amount: str) -> list[int]:
    """Post each form at once from its own signed-in browser; their status codes."""
    browsers = [sign_in(app.test_client(), "admin@example.com") for _ in forms]
    prepared = [dict(form or refund_form(browser, number))
                for form, browser in zip(forms, browsers, strict=True)]
    for data, browser in zip(prepared, browsers, strict=True):
        # Each browser's own session token; the refund token is the form's.
        data["csrf_token"] = refund_form(browser, number)["csrf_token"]
    start = threading.Barrier(len(forms))
    codes: list[int] = []

    def click(browser, data) -> None:
        start.wait()
        codes.append(_refund(browser, number, data, amount=amount).status_code)

    threads = [threading.Thread(target=click, args=pair)
               for pair in zip(browsers, prepared, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(codes)


def test_the_same_form_sent_from_two_threads_at_once_refunds_once(
    app, client, admin, sandbox, products
):
    number = paid_order(app, client, sandbox, {products["MUG"]: 2})
    form = refund_form(admin, number)
    assert _race(app, number, [form, form], "30.00") == [303, 303]
    assert refunds_of(app) == [(3000, RefundStatus.SUCCEEDED, "damaged")]
    assert payment_of(app) == (4800, 3000, PaymentStatus.PARTIALLY_REFUNDED)


def test_two_staff_refunds_at_once_never_give_back_more_than_was_paid(
    app, client, admin, sandbox, products
):
    number = paid_order(app, client, sandbox, {products["MUG"]: 2})
    assert _race(app, number, [None, None], "30.00") == [303, 409]
    assert refunds_of(app) == [(3000, RefundStatus.SUCCEEDED, "damaged")]
    assert payment_of(app) == (4800, 3000, PaymentStatus.PARTIALLY_REFUNDED)


def test_a_refund_that_fails_later_shows_failed_and_flags_the_order(
    app, client, admin, sandbox, products
):
    number = paid_order(app, client, sandbox, {products["MUG"]: 2}, card=REFUND_FAILS_LATER)
    assert _refund(admin, number, amount="48.00").status_code == 303
    sandbox.deliver_pending()
    assert refunds_of(app) == [(4800, RefundStatus.FAILED, "damaged")]
    assert payment_of(app) == (4800, 0, PaymentStatus.SUCCEEDED)
    with app.app_context():
        assert [f.code for f in db.session.scalars(select(OrderFlag))] == [FlagCode.REFUND_FAILED]
    page = text_of(admin.get(f"/staff/orders/{number}/refund"))
    assert "failed (expired_or_canceled_card)" in page
    assert 'value="48.00"' in page  # the money can be refunded again
    shopper_page = text_of(client.get(f"/orders/{number}?t={guest_token(app, number)}"))
    assert "did not go through" in shopper_page and "status-refund" not in shopper_page


def test_a_refund_made_in_the_stripe_dashboard_appears_on_the_refund_page(
    app, client, admin, sandbox, products
):
    number = paid_order(app, client, sandbox, {products["MUG"]: 2})
    with app.app_context():
        intent = db.session.scalar(select(Payment.payment_intent_id))
    made = sandbox.dashboard_refund(intent)
    sandbox.deliver_pending()
    page = text_of(admin.get(f"/staff/orders/{number}/refund"))
    assert made["id"] in page and "stripe dashboard" in page
    assert '<span class="status status-refund">Refunded</span>' in page
    assert "Nothing is left to refund" in page


def test_an_unknown_order_is_a_404_and_plain_staff_cannot_refund(
    app, client, admin, staff, sandbox, products
):
    assert admin.get("/staff/orders/NOPE-0000/refund").status_code == 404
    number = paid_order(app, client, sandbox, {products["MUG"]: 1})
    assert staff.get(f"/staff/orders/{number}/refund").status_code == 403
    response = _refund(staff, number, {"csrf_token": csrf_token(staff),
                                       "refund_token": "x" * 24}, amount="1.00")
    assert response.status_code == 403
    assert refunds_of(app) == []


def test_a_refund_the_provider_has_not_taken_yet_stays_pending_and_counts_against_the_rest(
    app, client, admin, sandbox, products, monkeypatch
):
    number = paid_order(app, client, sandbox, {products["MUG"]: 2})
    gateway = app.extensions["payments"]

    def unreachable(*args, **kwargs):
        raise GatewayUnavailable("The payment provider could not be reached.")

    monkeypatch.setattr(gateway, "refund", unreachable)
    response = _refund(admin, number, amount="10.00")
    assert response.status_code == 303
    assert refunds_of(app) == [(1000, RefundStatus.PENDING, "damaged")]
    page = text_of(admin.get(f"/staff/orders/{number}/refund"))
    assert "Refund of $10.00 sent; it shows as refunded once Stripe confirms it." in page
    assert 'name="amount" type="text" value="38.00"' in page and "not sent yet" in page
    assert "status-refund" not in page  # nothing confirmed yet
    shopper_page = text_of(client.get(f"/orders/{number}?t={guest_token(app, number)}"))
    assert "$10.00 · on its way back to you" in shopper_page

    monkeypatch.undo()
    with app.app_context():
        assert refunds.send_unsent() == 1
    assert refunds_of(app) == [(1000, RefundStatus.SUCCEEDED, "damaged")]
    assert "Partially refunded" in text_of(admin.get(f"/staff/orders/{number}/refund"))
