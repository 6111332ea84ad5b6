"""Request input that reached a PostgreSQL query parameter before anything checked it.

PostgreSQL refuses what SQLite takes without a word: text holding a NUL byte (`DataError:
PostgreSQL text fields cannot contain NUL (0x00) bytes`, on any parameter, a comparison
included), text longer than a VARCHAR column (`StringDataRightTruncation`), and an integer
past the column's range (`NumericValueOutOfRange`: SQLAlchemy casts each parameter to the
column's type, INTEGER for the ids, so anything past 2^31 - 1 is out of range, not only past
2^63). Each is a 500 there. Every test here sends one such value where a form, a query string
or a page link carries it, and asks for a 4xx that says what to fix, with nothing written.

The audit after f11de1f (the checkout re-render's country and e-mail). The 500s show on
PostgreSQL (TEST_DATABASE_URL); the failing tests fail on SQLite too, where the value is stored
(bad_stored_values sees the NUL or the over-long key) or the page answers 200 where a 4xx is
meant. Tests marked "Guard (passes)" hold a path that looked open and is not.
"""

import base64
import copy
import json

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import DiscountCode, OutboxMessage
from tests.hostile.conftest import all_rows, bad_stored_values, post
from tests.refund_support import paid_order
from tests.shop import add_to_cart, checkout_form, submit_checkout
from tests.state import text_of
from tests.test_webhook_hostile import paid_events  # noqa: F401  (the fixture)
from tests.test_webhooks import post_event

CONTROL = "Remove the control characters"
# Past INTEGER (int4, what every id column is), then past BIGINT, then far past both.
INT4_PAST = str(2**31 + 5)
INT8_PAST = str(2**63 + 5)
HUGE_NEGATIVE = str(-(2**63) - 5)


def _refused_and_unchanged(app, response, before, *, status=422, says: str | None = None):
    text = text_of(response)
    assert response.status_code == status, text[:2000]
    if says is not None:
        assert says in text, text[:2000]
    assert all_rows(app) == before
    assert bad_stored_values(app) == []


# Stock: the reason goes in the ledger unchecked ------------------------------------------------

@pytest.mark.parametrize("mode", ["delta", "count"])
@pytest.mark.parametrize("reason", ["\x00", "Recount\x00"], ids=["NUL", "text+NUL"])
def test_a_nul_in_a_stock_change_reason_is_refused_not_stored(app, admin, products, mode,
                                                              reason):
    # Finding: POST /staff/products/<id>/stock checks `reason` for presence and length only
    # (checkout/forms/products.py:72, StockForm.reason), so a NUL reaches the INSERT INTO
    # stock_movement (checkout/services/inventory.py:359-362, adjust_on_hand, through
    # services/products.py adjust_stock): DataError, a 500 on PostgreSQL; SQLite stores it.
    before = all_rows(app)
    response = post(admin, f"/staff/products/{products['MUG']}/stock",
                    {"mode": mode, "quantity": "1", "reason": reason})
    _refused_and_unchanged(app, response, before, says=CONTROL)


# Products: title and description are stored unchecked -----------------------------------------

PRODUCT = {"title": "Enamel Mug", "description": "", "price": "12.00", "sku": "ENAMEL-MUG",
           "slug": "enamel-mug", "initial_stock": "1"}


@pytest.mark.parametrize("field", ["title", "description"])
def test_a_nul_in_a_new_products_text_is_refused_not_stored(app, admin, field):
    # Finding: ProductForm checks title and description for length only
    # (checkout/forms/products.py:27-32); a NUL reaches the INSERT INTO product at the commit
    # in checkout/services/products.py:78 (_save): DataError, a 500 on PostgreSQL.
    before = all_rows(app)
    response = post(admin, "/staff/products/new", {**PRODUCT, field: "Enamel\x00Mug"})
    _refused_and_unchanged(app, response, before, says=CONTROL)


@pytest.mark.parametrize("field", ["title", "description"])
def test_a_nul_in_an_edited_products_text_is_refused_not_stored(app, admin, products, field):
    # Finding: the same through the edit form: the UPDATE product at the commit in
    # checkout/services/products.py:78 (_save) is a DataError, a 500 on PostgreSQL.
    before = all_rows(app)
    response = post(admin, f"/staff/products/{products['MUG']}",
                    {**PRODUCT, "sku": "MUG", "slug": "mug-edited", field: "Mug\x00"})
    _refused_and_unchanged(app, response, before, says=CONTROL)


# Discount codes: the redemptions page's position is any integer --------------------------------

def _code_id(app, admin: FlaskClient) -> int:
    created = post(admin, "/staff/discounts/new", {"code": "SAVE10", "kind": "percent",
                                                    "percent_off": "10"})
    assert created.status_code == 303, text_of(created)[:2000]
    with app.app_context():
        code_id = db.session.scalar(select(DiscountCode.id))
        db.session.remove()
    return code_id


@pytest.mark.parametrize("before_id", [INT4_PAST, INT8_PAST, HUGE_NEGATIVE],
                         ids=["past int4", "past int8", "below int8"])
def test_a_redemptions_page_position_past_an_id_is_a_4xx(app, admin, before_id):
    # Finding: GET /staff/discounts/<id>?before=N reads N with request.args.get(type=int)
    # (checkout/web/staff/discounts.py:63), unbounded, and discounts.redemptions compares
    # `discount_redemption.id < %(id_1)s::INTEGER` (checkout/services/discounts.py:173): past
    # 2^31 - 1 either way that is NumericValueOutOfRange, a 500 on PostgreSQL (SQLite's driver
    # overflows past 2^63 too). Ids in paths stop at 2^31 - 1 (web/routing.py
    # IdIntegerConverter); this query-string id does not.
    response = admin.get(f"/staff/discounts/{_code_id(app, admin)}?before={before_id}")
    assert 400 <= response.status_code < 500, text_of(response)[:2000]


def test_a_redemptions_page_position_an_id_could_be_is_served(app, admin):
    # Guard (passes): the largest id an INTEGER holds is a position like any other.
    response = admin.get(f"/staff/discounts/{_code_id(app, admin)}?before={2**31 - 1}")
    assert response.status_code == 200, text_of(response)[:2000]


# Staff orders list: a forged page link's id ------------------------------------------------------

def _cursor(payload: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(("sort", "payload"), [
    ("created_at", ["created_at", "desc", "2026-01-01T00:00:00+00:00", 2**31 + 5]),
    ("total", ["total", "desc", 100, 2**31 + 5]),
    ("total", ["total", "desc", 2**31 + 5, 1]),
], ids=["date, id past int4", "total, id past int4", "total past int4"])
def test_a_page_link_with_a_number_past_int4_is_no_500(app, admin, sort, payload):
    # Guard (passes): decode_cursor lets ids and totals up to 2^63 through (_fits_a_column)
    # while Order.id and Order.total are INTEGER, but the keyset condition is a row comparison
    # (tuple_ in services/order_search.py) whose parameters are not cast to INTEGER, so
    # PostgreSQL compares them as BIGINT: a forged link gives a page, never a 500. If the
    # condition is ever written column by column, this is the test that notices.
    response = admin.get("/staff/orders/", query_string={"sort": sort, "dir": "desc",
                                                         "after": _cursor(payload)})
    assert response.status_code in (200, 400), text_of(response)[:2000]


def test_a_page_link_with_a_number_past_int8_is_a_400(app, admin):
    # Guard (passes): the check that exists (_fits_a_column) refuses what is past BIGINT.
    payload = ["total", "desc", 100, 2**63 + 5]
    response = admin.get("/staff/orders/", query_string={"sort": "total", "dir": "desc",
                                                         "after": _cursor(payload)})
    assert response.status_code == 400


# Checkout: a postal code that grows when it is upper-cased ------------------------------------

@pytest.mark.parametrize("postal_code", ["ß" * 20, "ﬃ" * 10], ids=["sharp s", "ffi ligature"])
def test_a_postal_code_longer_once_upper_cased_is_refused_not_truncated(app, client, sandbox,
                                                                        products, postal_code):
    # Guard (passes): the form checks the postal code's length as typed (at most 20), and
    # normalise_postal_code (domain/addresses.py) then upper-cases it: "ß" would become "SS",
    # "ﬃ" "FFI", 40 or 30 characters for ship_postal_code VARCHAR(20), a
    # StringDataRightTruncation on PostgreSQL. CheckoutForm.validate_postal_code keeps a
    # postal code to ASCII letters, digits, spaces and dashes, so none reaches the INSERT;
    # this holds that rule to what it protects.
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    hidden = checkout_form(client)
    before = all_rows(app)
    response = submit_checkout(client, hidden, country="DK", postal_code=postal_code)
    text = text_of(response)
    assert response.status_code == 422, text[:2000]
    assert "postal code" in text.lower()
    assert all_rows(app) == before
    assert bad_stored_values(app) == []


# Webhooks: what a signed event claims is looked up only as the provider has it ----------------

NUL_METADATA = {"checkout_attempt": "\x00", "refund_request": "x\x00", "order_number": "\x00",
                "request_id": "\x00"}


@pytest.mark.parametrize("event_type", ["checkout.session.completed", "refund.created",
                                        "charge.refunded", "charge.dispute.created"])
@pytest.mark.parametrize("metadata", [NUL_METADATA, {"refund_request": "r" * 10_000,
                                                     "checkout_attempt": "a" * 10_000}],
                         ids=["NUL", "10k"])
def test_a_signed_event_whose_metadata_holds_a_nul_or_10k_is_no_500(
        app, client, paid_events, event_type, metadata):  # noqa: F811
    # Guard (passes): payment_sessions.adopt_session (CheckoutAttempt.idempotency_key ==
    # metadata["checkout_attempt"]) and refunds._known_refund (Refund.idempotency_key ==
    # metadata["refund_request"]) compare metadata nobody checked for a NUL; both read the
    # provider's own copy of the object (fetched.actual), never the event's, so a signed
    # event built by hand cannot bring one there.
    event = copy.deepcopy(paid_events[event_type])
    event["data"]["object"]["metadata"] = metadata
    response = post_event(client, event)
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:2000]
    assert bad_stored_values(app) == []


# Adjacent (no SQL): a page number that is a digit to str.isdigit but not to int() -------------

@pytest.mark.parametrize("page", ["²", "1²", "①"], ids=["superscript two", "1 and superscript",
                                                       "circled one"])
def test_a_webhook_log_page_number_int_cannot_read_is_a_400(app, admin, page):
    # Finding (adjacent to the SQL class, seen while reading the same views): the webhook log's
    # _page_number (checkout/web/staff/webhooks.py:21) checks raw.isdigit(), which is true for
    # "²" and "①", then calls int(raw): ValueError, a 500 on both databases, where the page
    # means to answer 400 "The page number must be a whole number from 1."
    response = admin.get("/staff/webhooks/", query_string={"page": page})
    text = text_of(response)
    assert response.status_code == 400, text[:2000]
    assert "The page number must be a whole number from 1." in text


# Staff e-mail addresses: accepted up to 254 characters, written into 200-character keys --------

# 190 characters: a valid address the invite form takes (Length(max=254), User.email VARCHAR(254)).
LONG_STAFF_EMAIL = "s" * 60 + "@" + "d" * 60 + "." + "e" * 60 + ".example"


def test_a_staff_address_the_invite_form_takes_does_not_break_staff_alerts(
        app, client, admin, paid_events):  # noqa: F811
    # Finding: POST /staff/accounts/ takes any valid address up to 254 characters
    # (checkout/forms/staff_accounts.py InviteForm.email), but every staff alert is keyed
    # f"staff-alert:{order}:{flag}:{cause}:{to.lower()}" (checkout/services/notifications.py:
    # 226; the webhook one at :240) into outbox_message.key VARCHAR(200)
    # (checkout/models/outbox.py:22). With this staff member's 190-character address the
    # dispute's alert INSERT (notifications.enqueue, :70-85) is StringDataRightTruncation on
    # PostgreSQL: the charge.dispute.created webhook answers 500 and rolls back, so the
    # dispute is never recorded and Stripe retries for days. Either the form refuses such an
    # address (a 422 saying how long it may be) or the alert goes out.
    assert len(LONG_STAFF_EMAIL) == 190
    invited = post(admin, "/staff/accounts/", {"email": LONG_STAFF_EMAIL, "role": "staff",
                                                "password": "a-long-enough-password"})
    if invited.status_code == 422:
        return  # refused up front, with nothing written: also a fix
    assert invited.status_code == 303, text_of(invited)[:2000]
    assert post_event(client, paid_events["checkout.session.completed"]).status_code == 200
    response = post_event(client, paid_events["charge.dispute.created"])
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    with app.app_context():
        recipients = set(db.session.scalars(
            select(OutboxMessage.recipient).where(OutboxMessage.template == "staff_alert")))
        db.session.remove()
    assert LONG_STAFF_EMAIL in recipients
    assert bad_stored_values(app) == []


# Checkout: a token one newline longer than its column -------------------------------------------

def test_a_checkout_token_with_a_trailing_newline_is_refused_not_truncated(app, client, sandbox,
                                                                           products):
    # Finding: CheckoutForm.checkout_token is checked with Regexp(r"^[A-Za-z0-9_-]{20,64}$")
    # (checkout/forms/checkout.py:52); Python's `$` also matches before a final newline, so
    # 64 characters and a "\n" pass, and the 65 characters go into the INSERT INTO "order"
    # (checkout_token VARCHAR(64), checkout/models/order.py:48; built at
    # checkout/services/checkout.py:152, flushed at :187):
    # StringDataRightTruncation, a 500 on PostgreSQL (SQLite stores 65 characters).
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    hidden = checkout_form(client)
    before = all_rows(app)
    response = submit_checkout(client, {**hidden, "checkout_token": "a" * 64 + "\n"})
    assert 400 <= response.status_code < 500, text_of(response)[:2000]
    assert all_rows(app) == before
    assert bad_stored_values(app) == []


def test_a_refund_token_with_a_trailing_newline_is_refused_not_sent(app, admin, client, sandbox,
                                                                    products):
    # Finding (adjacent: the same `$` hole, ending in an HTTP header rather than a column):
    # StaffRefundForm.refund_token's Regexp(r"^[A-Za-z0-9_-]{20,64}$") (checkout/forms/
    # refunds.py:47-49) passes a token with a final "\n"; the refund's key
    # f"staff-refund-{number}-{token}" (checkout/web/staff/refunds.py:96) becomes the
    # Idempotency-Key header of the provider call, and the HTTP client raises "ValueError:
    # Header values must not contain newline characters": a 500 on both databases.
    number = paid_order(app, client, sandbox, {products["MUG"]: 1})
    before = all_rows(app)
    response = post(admin, f"/staff/orders/{number}/refund", {
        "refund_token": "a" * 24 + "\n", "mode": "amount", "amount": "1.00",
        "reason": "goodwill", "note": ""})
    assert 400 <= response.status_code < 500, text_of(response)[:2000]
    assert all_rows(app) == before


# The `$` hole in the one-line patterns, and keys longer than the outbox's column ---------------

def test_a_one_line_field_ending_in_a_line_feed_is_refused_not_stored(app, client, products):
    # ONE_LINE ended in `$`, which matches before a final "\n": "Ada Lovelace\n" passed the
    # control-character check and went onto the order as it was.
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    hidden = checkout_form(client)
    before = all_rows(app)
    response = submit_checkout(client, hidden, name="Ada Lovelace\n")
    assert response.status_code == 422, text_of(response)[:2000]
    assert "Remove the control characters." in text_of(response)
    assert all_rows(app) == before


def test_an_outbox_key_longer_than_its_column_stays_unique_and_the_same_on_a_replay():
    from checkout.models import OutboxMessage
    from checkout.services.notifications import stored_key

    limit = OutboxMessage.__table__.c.key.type.length
    short = "order-confirmed:FH-1"
    assert stored_key(short) == short
    assert stored_key("k" * limit) == "k" * limit
    one = "staff-alert:" + "a" * 300 + "@x.example"
    other = "staff-alert:" + "a" * 300 + "@y.example"
    assert len(stored_key(one)) == limit
    assert stored_key(one).startswith("staff-alert:aaaa")
    assert stored_key(one) == stored_key(one)
    assert stored_key(one) != stored_key(other)


def test_a_postal_code_in_other_digits_is_refused(app, client, products):
    # The ZIP pattern read \d, which matches any script's digits.
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    hidden = checkout_form(client)
    before = all_rows(app)
    response = submit_checkout(client, hidden, postal_code="١٢٣٤٥", country="US")
    assert response.status_code == 422, text_of(response)[:2000]
    assert "a US ZIP code looks like 12345" in text_of(response)
    assert all_rows(app) == before


def test_the_sku_and_slug_patterns_refuse_a_final_line_feed():
    from checkout.services.products import SKU_PATTERN, SLUG_PATTERN

    assert SKU_PATTERN.match("ABC-1") and SLUG_PATTERN.match("abc-1")
    assert not SKU_PATTERN.match("ABC-1\n") and not SLUG_PATTERN.match("abc-1\n")
