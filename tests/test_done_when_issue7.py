"""Issue 7's "done when", end to end with the real stripe SDK against the in-process sandbox.

A shopper applies WELCOME10 (as `flask seed-demo` creates it), chooses Express shipping,
pays on the sandbox's hosted page, and the webhook confirms. Then exactly one confirmation
e-mail lies in MAIL_DIR (instance/mail/ under `make run`), and its receipt, the order page,
the invoice PDF its link downloads and the amount Stripe charged agree to the cent, the
discount and shipping rows included.
"""

import re
from email import message_from_bytes, policy
from urllib.parse import urlsplit

from checkout.extensions import db
from checkout.services.demo import load_demo_pricing
from tests.conftest import BASE_URL
from tests.mail_support import parts
from tests.shop import add_to_cart, session_id_of, submit_checkout
from tests.state import only_order, text_of
from tests.test_discounts import apply_code, visible
from tests.test_invoices import _pdf_text as pdf_text

# A pair of $24.00 mugs: $48.00 − 10% ($4.80) = $43.20; US sales tax 8.875% of it = $3.834
# → $3.83; Express $14.95; total $61.98.
EXPECTED = {"Subtotal": 4800, "Discount": 480, "Shipping": 1495, "Tax": 383, "Total": 6198}
ROW = re.compile(r"\b(Subtotal|Discount|Shipping|Tax|Total)\b[^$\n]{0,40}?[−-]?\$(\d[\d,]*\.\d\d)")
CARD = {"email": "ada@example.com", "name": "Ada Lovelace", "number": "4242 4242 4242 4242",
        "exp": "12 / 40", "cvc": "123", "method": "card"}


def rows(text: str) -> dict[str, int]:
    """The totals rows a person reads, as minor units; each label must show one amount."""
    found: dict[str, set[int]] = {}
    for label, amount in ROW.findall(text):
        found.setdefault(label, set()).add(int(amount.replace(",", "").replace(".", "")))
    assert all(len(amounts) == 1 for amounts in found.values()), found
    return {label: amounts.pop() for label, amounts in found.items()}


def local(url: str) -> str:
    parts_ = urlsplit(url)
    assert f"{parts_.scheme}://{parts_.netloc}" == BASE_URL, url
    return f"{parts_.path}?{parts_.query}"


def test_welcome10_express_paid_on_the_hosted_page_agree_everywhere_to_the_cent(
    app, client, sandbox, products, tmp_path, monkeypatch
):
    mail_dir = tmp_path / "mail"
    monkeypatch.setitem(app.config, "MAIL_DIR", str(mail_dir))
    with app.app_context():
        load_demo_pricing(prices_include_tax=False)
        db.session.remove()

    assert add_to_cart(client, products["MUG"], 2).status_code == 303
    assert apply_code(client, "welcome10").status_code == 303
    session_id = session_id_of(submit_checkout(client, shipping_method="express"))

    # The hosted page, as a browser fills it in; it redirects to the shop's success page,
    # which this shopper never reaches: the webhook alone confirms.
    paid = client.post(f"/sandbox/stripe/pay/{session_id}", data=CARD)
    assert paid.status_code == 303, text_of(paid)
    assert paid.headers["Location"].startswith(f"{BASE_URL}/checkout/success")
    deliveries = sandbox.deliver_pending()
    assert deliveries and all(d.ok for d in deliveries)
    sandbox.deliver_pending()  # a replay would add nothing either
    order = only_order(app)
    assert order.status == "payment_confirmed"

    [eml] = list(mail_dir.glob("*.eml"))
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["Subject"] == f"Fernhill Supply: order {order.number} is confirmed"
    text, html = parts(message)
    receipt = rows(text)
    assert receipt == rows(" ".join(re.sub(r"<[^>]+>", " ", html).split())) == EXPECTED

    stranger = app.test_client()  # the e-mail's links work for a browser that never saw it
    order_url = re.search(r"https?://\S+/orders/\S+", text).group(0)
    page = visible(stranger.get(local(order_url)))
    assert rows(page) == EXPECTED
    assert "Discount (WELCOME10)" in page and "Shipping (Express)" in page

    invoice_url = re.search(r"https?://\S+/invoice\.pdf\S*", text).group(0)
    pdf = stranger.get(local(invoice_url))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert rows(" ".join(pdf_text(pdf.data).split())) == EXPECTED

    # What Stripe charged, asked through the SDK as any integration would.
    stripe_client = app.extensions["payments"].client
    session = stripe_client.v1.checkout.sessions.retrieve(session_id)
    intent = stripe_client.v1.payment_intents.retrieve(session.payment_intent)
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    assert session.amount_total == intent.amount == charge.amount == EXPECTED["Total"]
    assert (charge.paid, charge.captured, charge.currency) == (True, True, "usd")
    assert (session.total_details.amount_discount, session.total_details.amount_shipping,
            session.total_details.amount_tax) == (EXPECTED["Discount"], EXPECTED["Shipping"],
                                                  EXPECTED["Tax"])
    assert order.total == EXPECTED["Total"]
