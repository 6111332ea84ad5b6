"""Tax inside the prices (PRICES_INCLUDE_TAX=1) is kept on the order and shown on every receipt."""

import io
from email import message_from_bytes, policy

from pypdf import PdfReader

from checkout.extensions import db
from checkout.models import Invoice, TaxRule
from tests.factories import ProductFactory
from tests.mail_support import parts
from tests.shop import add_to_cart, session_id_of, submit_checkout
from tests.state import guest_token, only_order
from tests.test_discounts import visible

# Per line, as domain.pricing does: $12.50 − round($12.50 × 100 / 120 = $10.4167) = $2.08 and
# $10.04 − round($10.04 × 100 / 120 = $8.3667) = $1.67, so $3.75 inside. Worked on the order's
# $22.54 as a whole it would be $22.54 − round($18.7833) = $3.76: the row must say $3.75.
INCLUDED = "Includes VAT of $3.75"


def test_included_vat_is_stored_and_shown_on_pages_invoice_and_receipt(
    app, client, sandbox, products, monkeypatch, tmp_path
):
    monkeypatch.setitem(app.config, "PRICES_INCLUDE_TAX", True)
    monkeypatch.setitem(app.config, "MAIL_DIR", str(tmp_path / "mail"))
    with app.app_context():
        db.session.add(TaxRule(country="GB", name="VAT", percentage="20"))
        towel = ProductFactory(sku="TOWEL", price=1004, on_hand=5, title="Linen Towel").id
        db.session.commit()
        db.session.remove()
    assert add_to_cart(client, products["PEN"], 1).status_code == 303
    assert add_to_cart(client, towel, 1).status_code == 303
    session_id = session_id_of(submit_checkout(client, country="GB", postal_code="SW1A 1AA"))

    order = only_order(app)
    # The prices already hold the VAT: nothing is added and the total is the items' sum.
    assert (order.subtotal, order.tax, order.tax_included, order.total) == (2254, 0, 375, 2254)
    token = guest_token(app, order.number)
    payment_page = visible(client.get(f"/checkout/orders/{order.number}/pay?t={token}"))
    assert INCLUDED in payment_page and "Total $22.54" in payment_page

    assert sandbox.retrieve_session(session_id)["amount_total"] == 2254
    assert sandbox.pay(session_id).ok
    deliveries = sandbox.deliver_pending()
    assert deliveries and all(d.ok for d in deliveries)

    order_page = visible(client.get(f"/orders/{order.number}?t={token}"))
    assert INCLUDED in order_page and "Total $22.54" in order_page
    with app.app_context():
        invoice = db.session.query(Invoice).one()
        assert (invoice.tax, invoice.tax_included, invoice.total) == (0, 375, 2254)
        db.session.remove()
    html = visible(client.get(f"/orders/{order.number}/invoice?t={token}"))
    assert INCLUDED in html and "Total paid $22.54" in html
    pdf = client.get(f"/orders/{order.number}/invoice.pdf?t={token}")
    assert pdf.status_code == 200
    pdf_text = " ".join(
        "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages).split()
    )
    assert INCLUDED in pdf_text and "$22.54" in pdf_text

    [path] = list((tmp_path / "mail").glob("*.eml"))
    text, mail_html = parts(message_from_bytes(path.read_bytes(), policy=policy.default))
    assert f"{INCLUDED}\n" in text and "Total  $22.54" in text
    assert INCLUDED in " ".join(mail_html.split())
