"""A document's PDF is rendered once and kept: later downloads of the same HTML read the file."""

import logging

import pytest

from checkout import pdf
from checkout.services import invoices
from checkout.services.orders import find_order
from tests.state import guest_token
from tests.test_invoices import _pdf_text, paid_order  # noqa: F401 (a fixture)


@pytest.fixture
def renders(app, monkeypatch, tmp_path) -> list[str]:
    """The HTML of every PDF the real renderer made, with the cache in a folder of this test."""
    monkeypatch.setitem(app.config, "PDF_CACHE_DIR", str(tmp_path / "pdf-cache"))
    made = []
    real = pdf.html_to_pdf

    def counted(html: str) -> bytes:
        made.append(html)
        return real(html)

    monkeypatch.setattr(pdf, "html_to_pdf", counted)
    return made


def _cached(app, html: str) -> bytes:
    return pdf.cached_html_to_pdf(html, app.config["PDF_CACHE_DIR"])


def _download(app, client, number: str):
    answer = client.get(f"/orders/{number}/invoice.pdf?t={guest_token(app, number)}")
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF")
    return answer.data


def test_a_second_download_of_the_same_invoice_is_not_rendered_again(
        app, client, paid_order, renders, tmp_path):  # noqa: F811
    first = _download(app, client, paid_order)
    second = _download(app, client, paid_order)
    assert len(renders) == 1
    assert first == second and paid_order in _pdf_text(second)
    assert [p.suffix for p in (tmp_path / "pdf-cache").iterdir()] == [".pdf"]


def test_different_html_is_rendered_afresh(app, renders):
    one = _cached(app, "<p>Invoice one</p>")
    two = _cached(app, "<p>Invoice two</p>")
    again = _cached(app, "<p>Invoice one</p>")
    assert len(renders) == 2 and one == again != two
    assert "Invoice two" in _pdf_text(two)


def test_a_damaged_file_in_the_cache_is_rendered_again_and_replaced(app, renders, tmp_path):
    _cached(app, "<p>Kept</p>")
    [kept] = (tmp_path / "pdf-cache").iterdir()
    kept.write_bytes(b"%PD")  # a half-written file from a crash, or a disk error
    again = _cached(app, "<p>Kept</p>")
    assert len(renders) == 2 and again.startswith(b"%PDF") and kept.read_bytes() == again


def test_a_cache_that_cannot_be_written_still_serves_the_pdf(app, renders, tmp_path, caplog):
    (tmp_path / "pdf-cache").write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING):
        made = _cached(app, "<p>Served anyway</p>")
    assert made.startswith(b"%PDF") and len(renders) == 1
    assert "could not keep the rendered PDF" in caplog.text


def test_an_empty_setting_turns_the_cache_off(app, renders, monkeypatch):
    monkeypatch.setitem(app.config, "PDF_CACHE_DIR", "")
    _cached(app, "<p>Twice</p>")
    _cached(app, "<p>Twice</p>")
    assert len(renders) == 2


def test_the_invoice_service_renders_through_the_cache(app, renders, paid_order):  # noqa: F811
    with app.app_context():
        invoice = invoices.invoice_of(find_order(paid_order))
        invoices.render_pdf(invoice)
        invoices.render_pdf(invoice)
    assert len(renders) == 1
