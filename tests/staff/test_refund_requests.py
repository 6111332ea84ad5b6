"""Shoppers ask for a refund on their order page; staff approve (a refund) or reject (why)."""

import pytest
from sqlalchemy import select

from checkout.domain.payment_status import RefundStatus
from checkout.extensions import db
from checkout.models import OutboxMessage, RefundRequest, StockMovement
from checkout.services.accounts import register_shopper
from tests.conftest import csrf_token
from tests.mail_support import order_link, parts, smtp_server
from tests.refund_support import hidden, ledger_state, line_ids, paid_order, refunds_of
from tests.shop import add_to_cart, session_id_of, submit_checkout
from tests.staff.conftest import PASSWORD, sign_in
from tests.state import guest_token, only_order, stock_of, text_of

HOSTILE = "<script>alert(1)</script> No & thanks"


@pytest.fixture
def smtp(app):
    with smtp_server(app) as sink:
        yield sink


def _ask(client, number: str, token: str | None = None, reason: str = "It arrived chipped",
         **lines):
    path = f"/orders/{number}" + (f"?t={token}" if token else "")
    data = {"csrf_token": csrf_token(client, path), "reason": reason, **lines}
    action = f"/orders/{number}/refund-request" + (f"?t={token}" if token else "")
    return client.post(action, data=data)


def _request_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(RefundRequest.id))


def _request(app) -> tuple[str, str, str | None]:
    with app.app_context():
        r = db.session.scalar(select(RefundRequest))
        found = r.status, r.decision_note, r.decided_by
        db.session.remove()
    return found


def _decide(client, request_id: int, action: str, **fields):
    page = client.get("/staff/refund-requests").get_data(as_text=True)
    data = {f"{action}-{request_id}-csrf_token": hidden(page, f"{action}-{request_id}-csrf_token")}
    data.update({f"{action}-{request_id}-{k}": v for k, v in fields.items()})
    return client.post(f"/staff/refund-requests/{request_id}/{action}", data=data)


def _mail_keys(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxMessage.key).order_by(OutboxMessage.id)))


def test_a_shopper_asks_for_a_refund_of_some_units_and_follows_it(
    app, shopper, staff, sandbox, products
):
    number = paid_order(app, shopper, sandbox, {products["MUG"]: 2, products["PEN"]: 1})
    ids = line_ids(app, number)
    page = text_of(shopper.get(f"/orders/{number}"))
    assert "Ask for a refund" in page
    response = _ask(shopper, number, **{f"line-{ids['MUG']}": "1"})
    assert response.status_code == 303
    page = text_of(shopper.get(response.headers["Location"]))
    assert "Waiting for our answer" in page and "You wrote: It arrived chipped" in page
    assert "Ask for a refund" not in page  # one open request per order
    queue = text_of(staff.get("/staff/refund-requests"))
    assert number in queue and "1 × Stoneware Mug" in queue and "It arrived chipped" in queue
    assert "An admin approves or declines requests." in queue

    before = ledger_state(app)
    again = _ask(shopper, number, **{f"line-{ids['PEN']}": "1"})
    assert again.status_code == 422
    assert "You already asked for a refund on this order" in text_of(again)
    assert ledger_state(app) == before


def test_a_guest_asks_through_the_orders_signed_link(app, client, sandbox, products):
    number = paid_order(app, client, sandbox, {products["MUG"]: 1})
    ids = line_ids(app, number)
    token = guest_token(app, number)
    response = _ask(client, number, token, **{f"line-{ids['MUG']}": "1"})
    assert response.status_code == 303
    assert _request(app) == ("pending", "", None)


def test_bad_requests_get_a_clear_message_and_write_nothing(app, shopper, sandbox, products):
    number = paid_order(app, shopper, sandbox, {products["PEN"]: 2})
    ids = line_ids(app, number)
    before = ledger_state(app)
    pen = f"line-{ids['PEN']}"
    cases = [
        ({"reason": "", pen: "1"}, "Tell us why you want a refund."),
        ({"reason": "x" * 1001, pen: "1"}, "Field cannot be longer than 1000 characters."),
        ({pen: ""}, "Choose at least one unit to refund."),
        ({pen: "3"}, "Brass Pen: 3 cannot be refunded, 2 of 2 are left to refund."),
        ({pen: "one"}, "Enter each quantity as a whole number of units, like 1."),
        ({pen: "-1"}, "Enter each quantity as a whole number of units, like 1."),
    ]
    for fields, message in cases:
        response = _ask(shopper, number, **fields)
        assert response.status_code == 422, fields
        assert message in text_of(response), (fields, text_of(response))
    assert ledger_state(app) == before


def test_an_unpaid_order_cannot_be_asked_for_a_refund(app, client, products):
    assert add_to_cart(client, products["PEN"], 1).status_code == 303
    session_id_of(submit_checkout(client))
    order = only_order(app)
    token = guest_token(app, order.number)
    assert "Ask for a refund" not in text_of(client.get(f"/orders/{order.number}?t={token}"))
    before = ledger_state(app)
    [line_id] = line_ids(app, order.number).values()
    response = _ask_blind(client, order.number, token, **{f"line-{line_id}": "1"})
    assert response.status_code == 422
    assert "Only a paid order can be refunded." in text_of(response)
    assert ledger_state(app) == before


def test_another_shoppers_order_is_a_404_for_its_page_and_its_refund_request(
    app, shopper, client, sandbox, products
):
    number = paid_order(app, shopper, sandbox, {products["MUG"]: 1})
    ids = line_ids(app, number)
    with app.app_context():
        register_shopper("other@example.com", PASSWORD)
    other = sign_in(app.test_client(), "other@example.com")
    before = ledger_state(app)
    assert other.get(f"/orders/{number}").status_code == 404
    assert _ask_blind(other, number, **{f"line-{ids['MUG']}": "1"}).status_code == 404
    assert _ask_blind(client, number, **{f"line-{ids['MUG']}": "1"}).status_code == 404
    forged = _ask_blind(client, number, "forged.token", **{f"line-{ids['MUG']}": "1"})
    assert forged.status_code == 404
    assert ledger_state(app) == before
    # A shopper cannot decide requests either: the staff area refuses them.
    assert _ask(shopper, number, **{f"line-{ids['MUG']}": "1"}).status_code == 303
    request_id = _request_id(app)
    response = other.post(f"/staff/refund-requests/{request_id}/approve",
                          data={"csrf_token": csrf_token(other)})
    assert response.status_code == 403
    assert _request(app)[0] == "pending"


def _ask_blind(client, number: str, token: str | None = None, **lines):
    """Post a request with a CSRF token from elsewhere (the visitor cannot open the order)."""
    action = f"/orders/{number}/refund-request" + (f"?t={token}" if token else "")
    return client.post(action, data={"csrf_token": csrf_token(client), "reason": "mine",
                                     **lines})


def test_approving_refunds_the_lines_once_and_mails_the_shopper_once(
    app, shopper, admin, sandbox, products, smtp
):
    number = paid_order(app, shopper, sandbox, {products["MUG"]: 2})
    ids = line_ids(app, number)
    assert _ask(shopper, number, reason=HOSTILE, **{f"line-{ids['MUG']}": "1"}).status_code \
        == 303
    request_id = _request_id(app)
    before_stock = stock_of(app, products["MUG"])
    response = _decide(admin, request_id, "approve", restock="y", note="Sorry about that")
    assert response.status_code == 303, text_of(response)
    assert refunds_of(app) == [(2400, RefundStatus.SUCCEEDED, "requested_by_customer")]
    assert stock_of(app, products["MUG"])[0] == before_stock[0] + 1
    assert _request(app) == ("approved", "Sorry about that", "admin@example.com")
    page = text_of(shopper.get(f"/orders/{number}"))
    assert "Approved: the refund is on its way. Sorry about that" in page
    assert "Partially refunded" in page

    twice = admin.post(f"/staff/refund-requests/{request_id}/approve",
                       data={f"approve-{request_id}-csrf_token": csrf_token(admin, "/staff/")})
    assert twice.status_code == 409
    assert "This request was already approved by admin@example.com" in text_of(twice)
    rejected_after = admin.post(f"/staff/refund-requests/{request_id}/reject",
                                data={f"reject-{request_id}-csrf_token": csrf_token(admin),
                                      f"reject-{request_id}-note": "Changed my mind"})
    assert rejected_after.status_code == 409
    assert len(refunds_of(app)) == 1
    with app.app_context():
        assert len(db.session.scalars(select(StockMovement).where(
            StockMovement.reason == "return")).all()) == 1

    approved = [m for m in smtp.messages if "is approved" in m["Subject"]]
    assert len(approved) == 1
    assert approved[0]["Subject"] == (
        f"Fernhill Supply: your refund request for order {number} is approved")
    text, html = parts(approved[0])
    for body in (text, html):
        assert "$24.00" in body and "1 × Stoneware Mug" in body and "Fernhill Supply" in body
    assert f"/orders/{number}?t=" in order_link(text)
    assert _mail_keys(app).count(f"refund-request-approved:{request_id}") == 1


def test_rejecting_needs_a_reason_the_shopper_sees_and_mails_it_once(
    app, shopper, admin, sandbox, products, smtp
):
    number = paid_order(app, shopper, sandbox, {products["MUG"]: 1})
    ids = line_ids(app, number)
    assert _ask(shopper, number, **{f"line-{ids['MUG']}": "1"}).status_code == 303
    request_id = _request_id(app)
    before = ledger_state(app)
    empty = _decide(admin, request_id, "reject", note="  ")
    assert empty.status_code == 422
    assert "Say why: the shopper sees this reason." in text_of(empty)
    assert ledger_state(app) == before

    response = _decide(admin, request_id, "reject", note=HOSTILE)
    assert response.status_code == 303
    assert refunds_of(app) == []
    page = text_of(shopper.get(f"/orders/{number}"))
    assert f"Our answer: {HOSTILE}" in page and "Declined" in page
    assert "<script>alert(1)</script>" not in shopper.get(f"/orders/{number}").get_data(
        as_text=True)
    # Decided: the shopper may ask again.
    assert "Ask for a refund" in page

    again = admin.post(f"/staff/refund-requests/{request_id}/approve",
                       data={f"approve-{request_id}-csrf_token": csrf_token(admin)})
    assert again.status_code == 409 and "already rejected" in text_of(again)
    assert refunds_of(app) == []

    [mail] = [m for m in smtp.messages if "about your refund request" in m["Subject"]]
    text, html = parts(mail)
    assert HOSTILE in text and "Fernhill Supply" in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert _mail_keys(app).count(f"refund-request-rejected:{request_id}") == 1


def test_plain_staff_see_the_queue_but_cannot_decide(app, shopper, staff, sandbox, products):
    number = paid_order(app, shopper, sandbox, {products["MUG"]: 1})
    ids = line_ids(app, number)
    assert _ask(shopper, number, **{f"line-{ids['MUG']}": "1"}).status_code == 303
    request_id = _request_id(app)
    assert staff.get("/staff/refund-requests").status_code == 200
    for action in ("approve", "reject"):
        response = staff.post(f"/staff/refund-requests/{request_id}/{action}",
                              data={"csrf_token": csrf_token(staff),
                                    f"{action}-{request_id}-note": "no"})
        assert response.status_code == 403
    assert _request(app) == ("pending", "", None)
    assert refunds_of(app) == []


def test_an_unknown_request_is_a_404(app, admin):
    response = admin.post("/staff/refund-requests/424242/approve",
                          data={"csrf_token": csrf_token(admin)})
    assert response.status_code == 404

