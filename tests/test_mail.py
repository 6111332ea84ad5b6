"""The order confirmation as it arrives: through a real SMTP server, or as an .eml file."""

import re
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from checkout import mail
from checkout.domain.message_status import MessageStatus
from checkout.extensions import db
from checkout.models import Order, OutboxMessage
from checkout.services import notifications
from tests.conftest import BASE_URL
from tests.factories import OrderFactory
from tests.mail_support import order_link, parts, smtp_server
from tests.shop import ADDRESS, add_to_cart, session_id_of, submit_checkout
from tests.state import only_order


@pytest.fixture
def smtp(app):
    with smtp_server(app) as sink:
        yield sink


@pytest.fixture
def mail_dir(app, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "mail"
    monkeypatch.setitem(app.config, "MAIL_DIR", str(folder))
    return folder


def pay_by_webhook(client, sandbox, product_id: int, quantity: int = 1, **address) -> None:
    """Place an order, pay it on the sandbox and let the webhook confirm it."""
    assert add_to_cart(client, product_id, quantity).status_code == 303
    session_id = session_id_of(submit_checkout(client, **address))
    assert sandbox.pay(session_id).ok
    deliveries = sandbox.deliver_pending()
    assert deliveries and all(d.ok for d in deliveries)


def test_the_confirmation_arrives_by_smtp_with_both_parts_and_a_working_link(
    app, client, sandbox, products, smtp, monkeypatch
):
    real_send = mail.send

    def send_outside_a_transaction(key, message):
        assert not db.session().in_transaction(), "mail sent with a database transaction open"
        return real_send(key, message)

    monkeypatch.setattr(mail, "send", send_outside_a_transaction)
    pay_by_webhook(client, sandbox, products["MUG"], 2)

    order = only_order(app)
    [message] = smtp.messages
    assert smtp.recipients == [[ADDRESS["email"]]]
    assert message["From"] == app.config["MAIL_FROM"]
    assert message["To"] == ADDRESS["email"]
    assert message["Subject"] == f"Fernhill Supply: order {order.number} is confirmed"
    text, html = parts(message)
    for body in (text, html):
        assert "Stoneware Mug × 2" in body
        assert "$48.00" in body and order.number in body and "Fernhill Supply" in body
        assert "12 Analytical Row" in body
    assert "Subtotal  $48.00" in text and "Shipping  Free" in text and "Total  $48.00" in text

    link = order_link(text)
    assert link.startswith(f"{BASE_URL}/orders/{order.number}?t=")
    assert f'href="{link.replace("&", "&amp;")}"' in html or f'href="{link}"' in html
    stranger = app.test_client()  # not the browser that placed the order
    parsed = urlsplit(link)
    page = stranger.get(f"{parsed.path}?{parsed.query}")
    assert page.status_code == 200
    assert order.number in page.get_data(as_text=True)
    assert stranger.get(parsed.path).status_code == 404


def test_a_hostile_customer_name_is_escaped_in_the_html_part(app, client, sandbox, products,
                                                               smtp):
    pay_by_webhook(client, sandbox, products["MUG"], name="<script>alert(1)</script> Eve")
    [message] = smtp.messages
    text, html = parts(message)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Eve" in html
    # Plain text is not HTML: the name reads as typed.
    assert "Hello <script>alert(1)</script> Eve," in text


def test_by_default_the_confirmation_is_written_as_an_eml_file(app, client, sandbox, products,
                                                              mail_dir):
    pay_by_webhook(client, sandbox, products["PEN"], 1)
    order = only_order(app)
    [path] = list(mail_dir.glob("*.eml"))
    assert path.name.endswith(f"order-confirmed-{order.number}.eml")
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["Subject"] == f"Fernhill Supply: order {order.number} is confirmed"
    assert message["To"] == ADDRESS["email"]
    text, html = parts(message)
    assert "Brass Pen × 1" in text and "$12.50" in html
    assert not list(mail_dir.glob("*.part"))


def test_the_receipt_shows_the_orders_stored_discount_shipping_and_tax(app, products, mail_dir):
    with app.app_context():
        order = OrderFactory(email="kim@example.com", ship_name="Kim")
        order.subtotal, order.discount, order.shipping, order.tax = 10000, 1000, 750, 720
        order.total = 10470
        notifications.enqueue_order_confirmation(order)
        db.session.commit()
        number = order.number
        db.session.remove()
    [path] = list(mail_dir.glob("*.eml"))
    text, html = parts(message_from_bytes(path.read_bytes(), policy=policy.default))
    assert "Subtotal  $100.00" in text
    assert "Discount  −$10.00" in text
    assert "Shipping  $7.50" in text
    assert "Tax  $7.20" in text
    assert "Total  $104.70" in text
    for row in ("Discount</td>", "−$10.00", "$7.50", "$7.20", "$104.70"):
        assert row in html
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage))
        assert (message.key, message.status) == (f"order-confirmed:{number}", MessageStatus.SENT)
        assert db.session.scalar(select(Order.number)) == number


def test_the_confirmation_links_the_invoice_pdf_that_the_shopper_can_open(
    app, client, sandbox, products, smtp
):
    pay_by_webhook(client, sandbox, products["MUG"], 2)
    order = only_order(app)
    [message] = smtp.messages
    text, html = parts(message)
    links = re.findall(r"https?://\S+invoice\.pdf\?t=\S+", text)
    assert len(links) == 1, text
    assert links[0].replace("&", "&amp;") in html or links[0] in html
    parsed = urlsplit(links[0])
    assert parsed.path == f"/orders/{order.number}/invoice.pdf"
    pdf = app.test_client().get(f"{parsed.path}?{parsed.query}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_the_receipt_writes_the_address_as_the_order_page_does(app, client, sandbox, products,
                                                              smtp):
    pay_by_webhook(client, sandbox, products["MUG"], 1)
    [message] = smtp.messages
    for body in parts(message):
        # A US envelope puts the postal code after the city, and names the country in full.
        assert "Springfield 12345" in body and "United States" in body
        assert "12345 Springfield" not in body
