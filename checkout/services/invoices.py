"""Invoices and credit notes: gap-free numbers, snapshots of the order, HTML and PDF.

A number is taken in the same transaction as the document it numbers (and the payment or
refund that causes it), by one conditional UPDATE on the series' row: the row stays locked
until commit, so concurrent payments queue for the next number, and a rollback gives the
number back with everything else. Numbers read `INV-2026-000123` and `CN-2026-000007`: one
series per kind and calendar year (UTC), each starting at 1 and never skipping one.
"""

from flask import current_app
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from checkout.db import now_utc
from checkout.domain.payment_status import RefundStatus
from checkout.extensions import db
from checkout.models import (
    CreditNote,
    DocumentSequence,
    Invoice,
    InvoiceLine,
    Order,
    Payment,
    Refund,
)
from checkout.models.payment import RefundReason
from checkout.pdf import cached_html_to_pdf

INVOICE_SERIES = "invoice"
CREDIT_NOTE_SERIES = "credit_note"
PREFIXES = {INVOICE_SERIES: "INV", CREDIT_NOTE_SERIES: "CN"}

REASONS = {
    RefundReason.LATE_PAYMENT_OUT_OF_STOCK: "Out of stock when the payment arrived",
    RefundReason.REQUESTED_BY_CUSTOMER: "Requested by the customer",
    RefundReason.DUPLICATE: "Duplicate payment",
    RefundReason.ORDER_CANCELLED: "Order cancelled",
    RefundReason.EXTERNAL: "Refund",
    RefundReason.DAMAGED: "Arrived damaged or faulty",
    RefundReason.NOT_RECEIVED: "Never arrived",
    RefundReason.WRONG_ITEM: "Wrong item sent",
    RefundReason.GOODWILL: "Goodwill refund",
    RefundReason.OTHER: "Refund",
}


def _insert(dialect: str):
    return pg_insert if dialect == "postgresql" else sqlite_insert


def next_number(series: str, year: int) -> int:
    """Take the next number of a series for a year (flush only; the caller's commit keeps it)."""
    dialect = db.session.get_bind().dialect.name
    # The year's row may not exist yet; two first documents of a year both try to create it
    # and the database keeps one.
    db.session.execute(
        _insert(dialect)(DocumentSequence)
        .values(series=series, year=year, next_number=1)
        .on_conflict_do_nothing(index_elements=["series", "year"])
    )
    taken = db.session.execute(
        update(DocumentSequence)
        .where(DocumentSequence.series == series, DocumentSequence.year == year)
        .values(next_number=DocumentSequence.next_number + 1)
        .returning(DocumentSequence.next_number - 1)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return taken


def format_number(series: str, year: int, number: int) -> str:
    """Render a document number: ("invoice", 2026, 123) → "INV-2026-000123"."""
    return f"{PREFIXES[series]}-{year}-{number:06d}"


def _numbered(series: str):
    issued_at = now_utc()
    return issued_at, format_number(series, issued_at.year, next_number(series, issued_at.year))


# Built once (services/catalog.py says why): every order page asks.
_INVOICE_OF_ORDER = select(Invoice).where(Invoice.order_id == bindparam("order_id"))


def invoice_of(order: Order) -> Invoice | None:
    """The order's invoice, if it has been issued."""
    return db.session.scalar(_INVOICE_OF_ORDER, {"order_id": order.id})


def credit_note(invoice: Invoice, number: str) -> CreditNote | None:
    """One of an invoice's credit notes by its number."""
    return db.session.scalar(
        select(CreditNote).where(CreditNote.invoice_id == invoice.id, CreditNote.number == number)
    )


def issue_invoice(order: Order, *, payment: Payment) -> Invoice:
    """Issue the invoice of an order just paid by `payment` (flush only); once per order.

    Every amount is copied from the order's stored lines and totals: the invoice says what
    the shopper was charged, never a sum worked out again.
    """
    existing = invoice_of(order)
    if existing is not None:
        return existing
    config = current_app.config
    issued_at, number = _numbered(INVOICE_SERIES)
    invoice = Invoice(
        number=number,
        order_id=order.id,
        payment_id=payment.id,
        issued_at=issued_at,
        seller_name=config["STORE_NAME"],
        seller_address=config.get("STORE_ADDRESS", ""),
        seller_tax_id=config.get("STORE_TAX_ID", ""),
        buyer_email=order.email,
        buyer_name=order.ship_name,
        buyer_line1=order.ship_line1,
        buyer_line2=order.ship_line2,
        buyer_city=order.ship_city,
        buyer_postal_code=order.ship_postal_code,
        buyer_country=order.ship_country,
        order_number=order.number,
        currency=order.currency,
        subtotal=order.subtotal,
        discount=order.discount,
        shipping=order.shipping,
        tax=order.tax,
        tax_included=order.tax_included,
        tax_included_name=order.pricing_context.included_tax_name or "",
        total=order.total,
    )
    db.session.add(invoice)
    db.session.flush()
    # One INSERT for every line (the ORM would send one per line to learn each id on SQLite);
    # invoice.lines loads them when first read.
    rows = [
        {"invoice_id": invoice.id, "sku": line.sku, "title": line.title,
         "unit_price": line.unit_price, "quantity": line.quantity, "line_total": line.line_total}
        for line in order.lines
    ]
    if rows:
        db.session.execute(insert(InvoiceLine), rows)
    return invoice


def issue_credit_note(refund: Refund) -> CreditNote | None:
    """Issue the credit note of a refund that succeeded (flush only); once per refund.

    Only money the invoice covers is credited: a refund of a payment that was never invoiced
    (a duplicate payment, one for a cancelled order) gets no credit note.
    """
    if RefundStatus(refund.status) != RefundStatus.SUCCEEDED:
        return None
    existing = db.session.scalar(select(CreditNote).where(CreditNote.refund_id == refund.id))
    if existing is not None:
        return existing
    invoice = db.session.scalar(
        select(Invoice).where(
            Invoice.order_id == refund.order_id, Invoice.payment_id == refund.payment_id
        )
    )
    if invoice is None:
        return None
    issued_at, number = _numbered(CREDIT_NOTE_SERIES)
    note = CreditNote(
        number=number,
        invoice_id=invoice.id,
        refund_id=refund.id,
        issued_at=issued_at,
        amount=refund.amount,
        currency=refund.currency,
        reason=REASONS.get(refund.reason, "Refund"),
    )
    db.session.add(note)
    db.session.flush()
    return note


def render_html(doc: Invoice | CreditNote, *, style_nonce: str | None = None) -> str:
    """Render an invoice or credit note as a printable HTML page.

    Rendered from the app's Jinja environment without the request's context processors, so
    a worker with no request (an e-mail job) renders the same page as the web does. The web
    passes its Content-Security-Policy nonce, which lets the page's own <style> apply.
    """
    env = current_app.jinja_env
    if isinstance(doc, CreditNote):
        template = env.get_template("invoices/credit_note.html")
        return template.render(note=doc, invoice=doc.invoice, style_nonce=style_nonce)
    return env.get_template("invoices/invoice.html").render(invoice=doc, style_nonce=style_nonce)


def render_pdf(doc: Invoice | CreditNote) -> bytes:
    """Render an invoice or credit note as a PDF, from the same HTML as the page."""
    # In a process of its own (checkout.pdf says why), from HTML rendered here with the app,
    # once per document: later downloads read the file kept under PDF_CACHE_DIR.
    return cached_html_to_pdf(render_html(doc), current_app.config.get("PDF_CACHE_DIR"))
