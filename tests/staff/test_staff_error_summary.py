"""Issue 10, finding 4 for the back office: a staff form that fails to submit opens with the
same error summary as the shopper's forms ("There is a problem", autofocused, a link per field
in error, each to an element the page has).

Every staff form that can fail validation is tried here; tests/e2e/test_staff_journeys.py
shows in a real browser that focus lands on the summary.
"""

import pytest
from sqlalchemy import select

from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.models import Product, Refund
from checkout.models.order import FlagCode
from tests.conftest import csrf_token
from tests.factories import OrderFactory
from tests.refund_support import hidden, line_ids, paid_order, refund_form
from tests.staff.test_bank_transfers import ACCOUNT, place_by_transfer, record
from tests.staff.test_refund_requests import _ask as ask_for_refund
from tests.state import guest_token, only_order, text_of
from tests.test_error_summary import no_summary, summary_of


def _html(response) -> str:
    return response.get_data(as_text=True)


def _order(app, status: OrderStatus = OrderStatus.AWAITING_SHIPMENT) -> str:
    with app.app_context():
        number = OrderFactory(status=status).number
        db.session.remove()
    return number


def test_shipping_without_a_tracking_number_links_the_tracking_number(app, staff):
    number = _order(app)
    path = f"/staff/orders/{number}"
    no_summary(_html(staff.get(path)))
    response = staff.post(f"{path}/ship", data={
        "csrf_token": csrf_token(staff, path), "carrier": "UPS", "tracking_number": ""})
    assert response.status_code == 422
    summary, targets = summary_of(_html(response))
    assert targets == {"tracking_number"}
    assert "Enter the tracking number." in summary["text"]


def test_an_empty_internal_note_links_the_note(app, staff):
    number = _order(app)
    path = f"/staff/orders/{number}"
    response = staff.post(f"{path}/notes", data={"csrf_token": csrf_token(staff, path),
                                                "note": " "})
    assert response.status_code == 422
    summary, targets = summary_of(_html(response))
    assert targets == {"note"} and "Write the note." in summary["text"]


def test_resolving_a_flag_without_a_note_links_that_flags_note(app, staff):
    with app.app_context():
        order = OrderFactory(status=OrderStatus.PAYMENT_CONFIRMED)
        order.flag(FlagCode.STOCK_SHORTAGE, "paid after the hold lapsed", actor="stripe")
        db.session.commit()
        number, flag_id = order.number, order.flags[0].id
        db.session.remove()
    path = f"/staff/orders/{number}"
    response = staff.post(f"{path}/flags/{flag_id}/resolve", data={
        "csrf_token": csrf_token(staff, path), f"flag-{flag_id}-note": ""})
    assert response.status_code == 422
    _, targets = summary_of(_html(response))
    assert targets == {f"flag-{flag_id}-note"}


def _refund(admin, number: str, **fields):
    data = {**refund_form(admin, number), "mode": "amount", "reason": "damaged", "note": "",
            **fields}
    return admin.post(f"/staff/orders/{number}/refund", data=data)


def test_a_refund_above_what_is_left_links_the_amount(app, client, admin, sandbox, products):
    number = paid_order(app, client, sandbox, {products["MUG"]: 2})
    no_summary(_html(admin.get(f"/staff/orders/{number}/refund")))
    response = _refund(admin, number, amount="48.01")
    assert response.status_code == 409
    summary, targets = summary_of(_html(response))
    assert targets == {"amount"}
    assert "Only $48.00 of this payment is left to refund." in summary["text"]
    # Said once in the summary and once beside the field, not a third time at the top.
    assert text_of(response).count("Only $48.00 of this payment is left to refund.") == 2


def test_a_refund_without_reason_or_amount_links_both(app, client, admin, sandbox, products):
    number = paid_order(app, client, sandbox, {products["MUG"]: 1})
    response = _refund(admin, number, amount="", reason="")
    assert response.status_code == 422
    _, targets = summary_of(_html(response))
    assert targets == {"amount", "reason"}


def test_a_refund_of_other_without_details_links_the_details(app, client, admin, sandbox,
                                                              products):
    number = paid_order(app, client, sandbox, {products["MUG"]: 1})
    response = _refund(admin, number, amount="1.00", reason="other")
    assert response.status_code == 422
    _, targets = summary_of(_html(response))
    assert targets == {"note"}


@pytest.fixture
def transfer_order(app, client, products):
    saved = {key: app.config.get(key) for key in ACCOUNT}
    app.config.update(ACCOUNT)
    assert place_by_transfer(client, products["MUG"]).status_code == 303
    yield only_order(app).number
    app.config.update(saved)


def test_recording_a_transfer_without_amount_or_reference_links_both(staff, transfer_order):
    no_summary(_html(staff.get("/staff/bank-transfers/")))
    response = record(staff, transfer_order, "", "")
    assert response.status_code == 422
    _, targets = summary_of(_html(response))
    assert targets == {f"{transfer_order}-amount", f"{transfer_order}-reference"}


def test_a_transfer_of_the_wrong_amount_links_the_amount(staff, transfer_order):
    response = record(staff, transfer_order, "47.99")
    assert response.status_code == 409
    summary, targets = summary_of(_html(response))
    assert targets == {f"{transfer_order}-amount"}
    assert f"order {transfer_order} totals $48.00" in summary["text"]


def test_marking_a_bank_refund_sent_without_a_reference_links_it(app, client, staff, admin,
                                                                  transfer_order):
    assert record(staff, transfer_order, "48.00").status_code == 303
    assert _refund(admin, transfer_order, amount="10.00").status_code == 303
    page = _html(admin.get(f"/staff/orders/{transfer_order}/refund"))
    with app.app_context():
        refund_id = db.session.scalar(select(Refund.id))
    response = admin.post(f"/staff/orders/{transfer_order}/refunds/{refund_id}/sent", data={
        f"sent-{refund_id}-csrf_token": hidden(page, f"sent-{refund_id}-csrf_token"),
        f"sent-{refund_id}-reference": ""})
    assert response.status_code == 422
    _, targets = summary_of(_html(response))
    assert targets == {f"sent-{refund_id}-reference"}


def test_an_empty_discount_code_form_links_the_code(admin):
    path = "/staff/discounts/new"
    no_summary(_html(admin.get(path)))
    response = admin.post(path, data={"csrf_token": csrf_token(admin, path), "code": "",
                                      "kind": "percent", "percent_off": "10"})
    assert response.status_code == 422
    _, targets = summary_of(_html(response))
    assert targets == {"code"}


def test_a_discount_the_service_refuses_is_summarised(admin):
    path = "/staff/discounts/new"
    response = admin.post(path, data={"csrf_token": csrf_token(admin, path), "code": "HALF",
                                      "kind": "percent", "percent_off": "250"})
    assert response.status_code == 422
    summary, _ = summary_of(_html(response))
    assert "The code was not saved" in summary["text"]
    # Said in the summary only, not again above the form.
    assert text_of(response).count("The code was not saved") == 1


def test_a_discount_without_its_amount_links_the_amount(admin):
    path = "/staff/discounts/new"
    response = admin.post(path, data={"csrf_token": csrf_token(admin, path), "code": "FIVE",
                                      "kind": "amount", "amount_off": ""})
    assert response.status_code == 422
    _, targets = summary_of(_html(response))
    assert targets == {"amount_off"}


def test_an_empty_product_form_links_each_required_field(admin):
    path = "/staff/products/new"
    no_summary(_html(admin.get(path)))
    response = admin.post(path, data={"csrf_token": csrf_token(admin, path), "title": "",
                                      "price": "", "sku": "", "initial_stock": "0"})
    assert response.status_code == 422
    _, targets = summary_of(_html(response))
    assert {"title", "price", "sku"} <= targets


def test_a_stock_change_without_units_or_reason_links_both(app, admin, products):
    with app.app_context():
        product_id = db.session.get(Product, products["MUG"]).id
    path = f"/staff/products/{product_id}/stock"
    no_summary(_html(admin.get(path)))
    response = admin.post(path, data={"csrf_token": csrf_token(admin, path), "mode": "delta",
                                      "quantity": "", "reason": ""})
    assert response.status_code == 422
    _, targets = summary_of(_html(response))
    assert targets == {"quantity", "reason"}


def test_an_invitation_without_an_address_links_the_email(admin):
    path = "/staff/accounts/"
    no_summary(_html(admin.get(path)))
    response = admin.post(path, data={"csrf_token": csrf_token(admin, path), "email": "",
                                      "role": "staff", "password": ""})
    assert response.status_code == 422
    _, targets = summary_of(_html(response))
    assert targets == {"email"}


def test_declining_a_refund_request_without_a_reason_links_the_reason(app, admin, client,
                                                                       sandbox, products):
    number = paid_order(app, client, sandbox, {products["MUG"]: 1})
    mug = line_ids(app, number)["MUG"]
    asked = ask_for_refund(client, number, guest_token(app, number), **{f"line-{mug}": "1"})
    assert asked.status_code == 303
    queue = _html(admin.get("/staff/refund-requests"))
    request_id = int(queue.split('id="request-')[1].split('"')[0])
    response = admin.post(f"/staff/refund-requests/{request_id}/reject", data={
        f"reject-{request_id}-csrf_token": hidden(queue, f"reject-{request_id}-csrf_token"),
        f"reject-{request_id}-note": ""})
    assert response.status_code == 422
    _, targets = summary_of(_html(response))
    assert targets == {f"reject-{request_id}-note"}


def test_bad_order_filters_link_the_field(staff):
    response = staff.get("/staff/orders/?from=not-a-date")
    assert response.status_code == 422
    _, targets = summary_of(_html(response))
    assert targets == {"from"}


@pytest.mark.parametrize(("units", "status", "message"), [
    ("3", 409, "Brass Pen: 3 cannot be refunded, 2 of 2 are left to refund."),
    ("two", 422, "Enter each quantity as a whole number of units, like 1."),
])
def test_a_refund_of_lines_that_cannot_be_made_links_the_first_line(
        app, client, admin, sandbox, products, units, status, message):
    number = paid_order(app, client, sandbox, {products["PEN"]: 2})
    pen = line_ids(app, number)["PEN"]
    response = _refund(admin, number, mode="lines", amount="", **{f"line-{pen}": units})
    assert response.status_code == status
    summary, targets = summary_of(_html(response))
    assert targets == {f"line-{pen}"}
    assert message in summary["text"]
    assert text_of(response).count(message) == 2
