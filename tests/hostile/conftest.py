"""A shop with something behind every address, and the tools to prove hostile input changed
nothing: a dump of every row of every table, and a scan of every stored text.

The world is built through the real pages and the sandbox wherever that is cheap, so each path
parameter of the URL map has a value that names something real (an order, a flag, a refund, a
credit note, a staff account...) as well as the unknown ones the fuzzers make up.
"""

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from sqlalchemy import String, select

from checkout.extensions import db
from checkout.models import (
    CreditNote,
    DiscountCode,
    OrderFlag,
    Product,
    Refund,
    RefundRequest,
    User,
    WebhookEvent,
)
from checkout.models.address import Address
from checkout.models.order import FlagCode
from checkout.services import accounts, orders
from checkout.services.accounts import create_staff, register_shopper
from checkout.services.staff_accounts import INVITATION
from tests.conftest import csrf_token
from tests.factories import ProductFactory
from tests.refund_support import paid_order
from tests.shop import add_to_cart
from tests.staff.conftest import PASSWORD, sign_in

# A few examples per address keep the folder fast; HYPOTHESIS_PROFILE=soak digs deeper.
settings.register_profile(
    "hostile", max_examples=5, deadline=None, database=None, derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
settings.register_profile("hostile-soak", parent=settings.get_profile("hostile"),
                          max_examples=150)


def hostile_settings() -> settings:
    """The profile the hostile folder runs with: HYPOTHESIS_PROFILE=soak for many examples."""
    soak = os.environ.get("HYPOTHESIS_PROFILE") == "soak"
    return settings.get_profile("hostile-soak" if soak else "hostile")


@pytest.fixture(autouse=True)
def _crash_as_500(app, monkeypatch):
    # Exceptions answer as in production (a 500 page), so a crash fails on its status.
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)


@pytest.fixture
def mail_dir(app, tmp_path, monkeypatch) -> Path:
    """A mail folder of this test's own, so a scan reads only what this test sent."""
    folder = tmp_path / "mail"
    monkeypatch.setitem(app.config, "MAIL_DIR", str(folder))
    return folder


# What the database holds -------------------------------------------------------------------

def all_rows(app: Flask) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: equal before and after means nothing was written."""
    with app.app_context():
        dump = {
            table.name: sorted(tuple(repr(v) for v in row)
                                for row in db.session.execute(select(table)))
            for table in db.metadata.sorted_tables
        }
        db.session.remove()
    return dump


def stored_texts(app: Flask) -> list[tuple[str, str, str]]:
    """(table, column, value) of every non-empty text value the shop stores."""
    found = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String)]
            if not columns:
                continue
            for row in db.session.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, str) and value:
                        found.append((table.name, column.name, value))
        db.session.remove()
    return found


def bad_stored_values(app: Flask) -> list[str]:
    """Stored texts PostgreSQL would refuse: a NUL byte, or longer than the column allows."""
    problems = []
    with app.app_context():
        lengths = {(t.name, c.name): c.type.length for t in db.metadata.sorted_tables
                   for c in t.columns if isinstance(c.type, String)}
        db.session.remove()
    for table, column, value in stored_texts(app):
        if "\x00" in value:
            problems.append(f"{table}.{column} holds a NUL: {value[:80]!r}")
        limit = lengths[(table, column)]
        if limit is not None and len(value) > limit:
            problems.append(f"{table}.{column} holds {len(value)} > {limit} characters")
    return problems


# The world ------------------------------------------------------------------------------------

@dataclass
class World:
    """Signed-in browsers and, per path parameter of the URL map, a value naming something real."""

    app: Flask
    guest: FlaskClient
    shopper: FlaskClient
    admin: FlaskClient
    paths: dict[str, str]
    order_tokens: dict[str, str]
    line_ids: list[int]
    mine: str
    plenty: int
    tokens: dict[str, str] = field(default_factory=dict)

    def number_for(self, endpoint: str) -> str:
        """The order the browser may see: the guest's own, or the shopper's for staff."""
        return self.mine if endpoint.startswith("staff.") else self.paths["number"]

    def client_for(self, endpoint: str) -> FlaskClient:
        """The browser whose audience the endpoint serves, signed in again if an earlier
        request signed it out."""
        if endpoint.startswith("staff."):
            if self.admin.get("/staff/").status_code != 200:
                self.admin = self._sign_in_again("admin@example.com")
            return self.admin
        if endpoint.startswith("account."):
            if self.shopper.get("/account/settings").status_code != 200:
                self.shopper = self._sign_in_again("shopper@example.com")
            return self.shopper
        return self.guest

    def _sign_in_again(self, email: str) -> FlaskClient:
        # A fuzzed request may have signed the account out everywhere or, through a real
        # reset link, chosen a new password: both are allowed, so put the password back.
        with self.app.app_context():
            user = db.session.scalar(select(User).where(User.email == email))
            user.set_password(PASSWORD)
            db.session.commit()
            db.session.remove()
        return sign_in(self.app.test_client(), email)


def _csrf(client: FlaskClient) -> str:
    for path in ("/account/login", "/cart/", "/account/settings", "/staff/discounts/new"):
        page = client.get(path)
        if page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True):
            return csrf_token(client, path)
    raise AssertionError("no page with a CSRF token")


def post(client: FlaskClient, path: str, data: dict) -> object:
    return client.post(path, data={"csrf_token": _csrf(client), **data})


@pytest.fixture
def world(app, sandbox, products) -> World:
    """Two paid orders (one a guest's), a refund with its credit note, a refund request, a flag,
    a saved address, a discount code, a webhook event, staff and shopper accounts, a cart."""
    with app.app_context():
        create_staff("admin@example.com", PASSWORD, admin=True)
        create_staff("helper@example.com", PASSWORD)
        register_shopper("shopper@example.com", PASSWORD)
        # Enough for every order a test may place.
        plenty = ProductFactory(sku="PLENTY", price=500, on_hand=10_000, title="Tea Towel").id
        db.session.remove()
    admin = sign_in(app.test_client(), "admin@example.com")
    shopper = sign_in(app.test_client(), "shopper@example.com")
    guest = app.test_client()

    mine = paid_order(app, shopper, sandbox, {products["MUG"]: 2, products["PEN"]: 1})
    theirs = paid_order(app, guest, sandbox, {products["MUG"]: 1})
    assert add_to_cart(guest, products["PEN"], 1).status_code == 303

    refund = post(admin, f"/staff/orders/{theirs}/refund", {
        "refund_token": secrets.token_urlsafe(24), "mode": "amount", "amount": "1.00",
        "reason": "goodwill", "note": ""})
    assert refund.status_code == 303, refund.get_data(as_text=True)
    sandbox.deliver_pending()
    code = post(admin, "/staff/discounts/new", {"code": "SAVE10", "kind": "percent",
                                                 "percent_off": "10"})
    assert code.status_code == 303, code.get_data(as_text=True)

    with app.app_context():
        mine_order = orders.find_order(mine)
        theirs_order = orders.find_order(theirs)
        tokens = {mine: orders.access_token(mine_order), theirs: orders.access_token(theirs_order)}
        line_ids = [line.id for o in (mine_order, theirs_order) for line in o.lines]
        flag = OrderFlag(order_id=mine_order.id, code=FlagCode.STOCK_SHORTAGE, detail="hostile")
        db.session.add(flag)
        db.session.commit()
        shopper_user = db.session.scalar(select(User).where(User.email == "shopper@example.com"))
        helper = db.session.scalar(select(User).where(User.email == "helper@example.com"))
        auth_tokens = {
            "reset": accounts.password_link_token(shopper_user, "password-reset"),
            "verify": accounts._verify_serializer().dumps(
                {"user": shopper_user.id, "state": accounts._email_state(shopper_user)}),
            "invitation": accounts.password_link_token(helper, INVITATION),
        }
        paths = {
            "number": theirs,
            "note_number": db.session.scalar(select(CreditNote.number)) or "CN-0",
            "flag_id": str(flag.id),
            "refund_id": str(db.session.scalar(select(Refund.id))),
            "code_id": str(db.session.scalar(select(DiscountCode.id))),
            "product_id": str(products["MUG"]),
            "slug": db.session.get(Product, products["MUG"]).slug,
            "user_id": str(helper.id),
            "address_id": str(db.session.scalar(select(Address.id)) or 1),
            "event_id": db.session.scalar(select(WebhookEvent.event_id)) or "evt_0",
            "name": "missing.png",
            "filename": "style.css",
        }
        db.session.remove()
    ask = post(guest, f"/orders/{theirs}/refund-request?t={tokens[theirs]}",
               {"reason": "It arrived chipped.", f"line-{line_ids[-1]}": "1"})
    assert ask.status_code == 303, ask.get_data(as_text=True)
    with app.app_context():
        paths["request_id"] = str(db.session.scalar(select(RefundRequest.id)))
        db.session.remove()
    return World(app=app, guest=guest, shopper=shopper, admin=admin, paths=paths,
                 order_tokens=tokens, line_ids=line_ids, mine=mine, plenty=plenty,
                 tokens=auth_tokens)
