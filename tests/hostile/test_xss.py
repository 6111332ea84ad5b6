"""Markup typed into every field the shop shows back arrives as text: escaped on every page, in
the HTML part of every e-mail, literal (not double-escaped) in the text parts and in the PDFs.

Each payload goes through the real forms: a product's title and description (staff), the
shopper's name, address and e-mail local part (checkout), a discount code the cart refuses,
a refund request's reason, a staff note, a refund's note, a carrier, a tracking number the form
refuses, a flag's resolution and the note approving a refund request. Then every page of the
URL map that can show them is read by its audience, and every message the shop sent.
"""

import csv
import io
import re
import secrets
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from checkout.extensions import db
from checkout.models import CreditNote, Order, OrderFlag, Product, RefundRequest
from checkout.models.order import FlagCode
from checkout.services import orders
from tests.hostile.conftest import World, post
from tests.hostile.strategies import XSS, real_path, shop_rules
from tests.hostile.test_fuzz_routes import TOKEN_OF
from tests.shop import add_to_cart, session_id_of, submit_checkout

# Accepted by every e-mail check (atext), yet an attribute breaker if it were not escaped.
EMAIL = "o'hara&co=x+{{7*7}}@example.com"
# What a browser would run: markup, or a javascript: address in a link or a source.
ACTIVE = re.compile(r"<script>alert\(1\)</script>|<img src=x onerror=alert\(1\)>"
                    r"|(?:href|src|action|formaction)\s*=\s*[\"']?\s*javascript:", re.I)


def _shop_through_the_forms(app, world: World, sandbox, payload: str) -> str:
    """Put `payload` into every shown field through the real forms; the new order's number."""
    admin, guest = world.admin, app.test_client()
    made = post(admin, "/staff/products/new", {
        "title": f"Mug {payload}", "description": f"Glazed. {payload}", "price": "10.00",
        "sku": "XSS-1", "initial_stock": "10", "is_active": "y"})
    assert made.status_code == 303, made.get_data(as_text=True)
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.sku == "XSS-1"))
        product_id, world.paths["slug"] = product.id, product.slug
        db.session.remove()

    refused_code = post(admin, "/staff/discounts/new", {"code": payload, "kind": "percent",
                                                         "percent_off": "10"})
    assert refused_code.status_code == 422
    _assert_inert(refused_code.get_data(as_text=True), "discount form")
    assert add_to_cart(guest, product_id, 2).status_code == 303
    applied = post(guest, "/cart/discount", {"code": payload})
    _assert_inert(applied.get_data(as_text=True), "cart with a refused code")

    placed = submit_checkout(guest, name=f"Ada {payload}", line1=payload, line2=payload,
                             city=f"Bath {payload}"[:80], email=EMAIL)
    assert sandbox.pay(session_id_of(placed)).ok
    sandbox.deliver_pending()
    # The signed-in shopper's checkout saves the address to the account's address book.
    assert add_to_cart(world.shopper, product_id, 1).status_code == 303
    saved = submit_checkout(world.shopper, name=f"Ada {payload}", line1=payload,
                            email="shopper@example.com")
    assert saved.status_code == 303, saved.get_data(as_text=True)
    with app.app_context():
        order = db.session.scalar(select(Order).where(Order.email == EMAIL))
        number, token = order.number, orders.access_token(order)
        line_id = order.lines[0].id
        db.session.remove()

    asked = post(guest, f"/orders/{number}/refund-request?t={token}",
                 {"reason": f"Broken {payload}", f"line-{line_id}": "1"})
    assert asked.status_code == 303, asked.get_data(as_text=True)
    with app.app_context():
        request_id = db.session.scalar(select(RefundRequest.id).order_by(RefundRequest.id.desc()))
        flag = OrderFlag(order_id=orders.find_order(number).id, code=FlagCode.STOCK_SHORTAGE,
                         detail="hostile")
        db.session.add(flag)
        db.session.commit()
        flag_id = flag.id
        db.session.remove()

    staff_steps = [
        (f"/staff/orders/{number}/notes", {"note": f"Called them {payload}"}),
        (f"/staff/orders/{number}/flags/{flag_id}/resolve",
         {f"flag-{flag_id}-note": f"Sorted {payload}"}),
        (f"/staff/refund-requests/{request_id}/approve",
         {f"approve-{request_id}-note": f"Sorry {payload}"}),
        (f"/staff/orders/{number}/refund", {
            "refund_token": secrets.token_urlsafe(24), "mode": "amount", "amount": "1.00",
            "reason": "other", "note": f"Goodwill {payload}"}),
        (f"/staff/orders/{number}/fulfil", {}),
        (f"/staff/orders/{number}/ship", {"carrier": f"Post {payload}"[:60],
                                          "tracking_number": "TRACK 123"}),
    ]
    for path, data in staff_steps:
        response = post(admin, path, data)
        assert response.status_code == 303, (path, response.get_data(as_text=True)[:3000])
        sandbox.deliver_pending()
    refused_tracking = post(admin, f"/staff/orders/{number}/ship",
                            {"carrier": "UPS", "tracking_number": payload})
    assert refused_tracking.status_code in (409, 422)
    _assert_inert(refused_tracking.get_data(as_text=True), "refused tracking number")
    with app.app_context():
        world.paths["note_number"] = db.session.scalar(
            select(CreditNote.number).order_by(CreditNote.id.desc()))
        db.session.remove()
    world.guest = guest
    world.paths.update(number=number, product_id=str(product_id), request_id=str(request_id),
                       flag_id=str(flag_id))
    world.order_tokens[number] = token
    world.mine = number
    return number


def _assert_inert(page: str, where: str) -> None:
    found = ACTIVE.search(page)
    if found is not None:
        context = page[max(0, found.start() - 300):found.end() + 100]
        raise AssertionError(f"{where} runs {found.group(0)!r}: ...{context}")


def _pages(app, world: World) -> dict[str, str]:
    """Every HTML page of the URL map that names the order, read by its audience."""
    pages = {}
    real = dict(world.paths)
    for rule in shop_rules(app):
        if "GET" not in rule.methods or rule.endpoint in TOKEN_OF:
            continue
        client = world.client_for(rule.endpoint)
        path = real_path(rule, {**real, "number": world.mine})
        args = MultiDict({} if rule.endpoint.startswith("staff.") else
                         {"t": world.order_tokens[world.mine]})
        response = client.get(path, query_string=args)
        response.get_data()  # a streamed answer (the CSV export) ends its transaction here
        assert response.status_code < 500, path
        pages[f"{rule.endpoint} {response.status_code}"] = response
    return pages


def _messages(folder: Path):
    for eml in sorted(folder.glob("*.eml")):
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        text = message.get_body(preferencelist=("plain",)).get_content()
        html_part = message.get_body(preferencelist=("html",))
        yield eml.name, message, text, html_part.get_content() if html_part else ""


def _pdf_text(data: bytes) -> str:
    """The PDF's text, every run of white space made one space (lines wrap anywhere)."""
    pages = PdfReader(io.BytesIO(data)).pages
    return " ".join(" ".join(page.extract_text().split()) for page in pages)


@pytest.mark.parametrize("payload", XSS)
def test_markup_in_every_shown_field_is_escaped_in_pages_mails_and_pdfs(
    app, world: World, sandbox, mail_dir, payload
):
    number = _shop_through_the_forms(app, world, sandbox, payload)
    escaped = str(escape(payload))

    pages = _pages(app, world)
    for name, response in pages.items():
        if response.mimetype == "text/html":
            _assert_inert(response.get_data(as_text=True), name)
    staff_page = pages["staff.order.show 200"].get_data(as_text=True)
    shopper_page = pages["orders.show 200"].get_data(as_text=True)
    for shown in (f"Ada {escaped}", f"Called them {escaped}", f"Sorted {escaped}",
                  f"Post {escaped}", f"Mug {escaped}"):
        assert shown in staff_page, shown
    for shown in (f"Ada {escaped}", f"Mug {escaped}", f"Broken {escaped}"):
        assert shown in shopper_page, shown
    assert str(escape(EMAIL)) in staff_page and EMAIL not in staff_page
    assert f"Glazed. {escaped}" in pages["catalog.product 200"].get_data(as_text=True)
    assert f"Ada {escaped}" in pages["account.addresses_list 200"].get_data(as_text=True)

    messages = list(_messages(mail_dir))
    assert len(messages) >= 3
    for name, message, text, html_part in messages:
        _assert_inert(html_part, name)
        assert "&lt;" not in text and "&#34;" not in text and "&quot;" not in text, name
        assert "\n" not in message["Subject"], name  # no header injection
    all_text = "\n".join(text for _, _, text, _ in messages)
    assert f"Mug {payload}" in all_text
    assert f"Sorry {payload}" in all_text

    invoice = pages["orders.invoice_pdf 200"].get_data()
    assert f"Mug {payload}" in _pdf_text(invoice)
    assert "&lt;" not in _pdf_text(invoice)
    credit_note = _pdf_text(pages["orders.credit_note_pdf 200"].get_data())
    assert number in credit_note and "&lt;" not in credit_note


FORMULAS = ['=HYPERLINK("http://evil.test","x")', "+SUM(1,2)", "-2+3", "@SUM(A1)"]


def test_formulas_typed_at_checkout_reach_the_csv_export_as_text(app, world: World, products):
    # Names and cities from the real checkout form; e-mail local parts may start with = + -.
    for i, formula in enumerate(FORMULAS):
        shopper = app.test_client()
        assert add_to_cart(shopper, products["MUG"], 1).status_code == 303
        email = f"{formula[0] if formula[0] != '@' else ''}{i}x@example.com"
        placed = submit_checkout(shopper, name=formula, city=formula, email=email)
        assert placed.status_code == 303, placed.get_data(as_text=True)
    export = world.admin.get("/staff/orders/export.csv")
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    cells = [value for row in rows for value in row.values()]
    for formula in FORMULAS:
        assert f"'{formula}" in cells and formula not in cells
    for start in "=+-":
        assert any(c.startswith(f"'{start}") and c.endswith("x@example.com") for c in cells)
    for row in rows:
        for value in row.values():
            if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
                # A negative amount is a number, never a formula; anything else is a defect.
                assert re.fullmatch(r"-\d+(\.\d+)?", value), (row, value)
