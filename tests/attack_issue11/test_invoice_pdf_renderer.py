"""Attack (issue 11): invoice PDFs are rendered by a process of their own (checkout/pdf.py).

Nothing a shopper types (name, address, e-mail, a product title staff typed) may make the
renderer fetch a URL or read a local file; and renderers, each a whole WeasyPrint process,
must take turns within a worker as Argon2 hashing does, or a few shoppers downloading their
invoices at once put one renderer per gunicorn thread on the machine.
"""

import io
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pypdf import PdfReader

from checkout import pdf
from checkout.domain.order_status import OrderStatus
from checkout.extensions import db
from checkout.services import invoices
from checkout.services.orders import lock_order
from tests.factories import OrderFactory, PaymentFactory, ProductFactory


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { background: red }")

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.hits
    server.shutdown()
    server.server_close()


def _hostile(base: str, secret_file) -> str:
    return (f'<img src="file://{secret_file}"><link rel="stylesheet" href="{base}/link.css">'
            f'<style>@import url({base}/import.css);</style><iframe src="{base}/frame">'
            f'<object data="{base}/object"></object>')


def test_markup_in_what_shoppers_type_is_neither_fetched_nor_read(app, listener, tmp_path):
    base, hits = listener
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-FILE-CONTENT")
    markup = _hostile(base, secret)
    with app.app_context():
        product = ProductFactory(title=f"Mug {markup}"[:200], price=1000)
        order = OrderFactory(items=[(product, 1)], status=OrderStatus.PAYMENT_CONFIRMED,
                             ship_name=f"Eve {markup}"[:120],
                             ship_line1=f'<img src="{base}/line1.png">',
                             email="eve@example.com")
        payment = PaymentFactory(order=order)
        invoice = invoices.issue_invoice(lock_order(order.id), payment=payment)
        db.session.commit()
        html = invoices.render_html(invoice)
        rendered = invoices.render_pdf(invoice)
        db.session.remove()
    assert "<img src=" not in html and "&lt;img src=" in html
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(rendered)).pages)
    assert "Eve <img src=" in text.replace("\n", " ")  # shown as text, as typed
    assert "TOP-SECRET-FILE-CONTENT" not in text and b"/Image" not in rendered
    assert hits == []


def test_markup_that_reached_the_renderer_still_loads_nothing(listener, tmp_path):
    base, hits = listener
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not really")
    rendered = pdf.html_to_pdf(f"<html><body><p>x</p>{_hostile(base, secret)}"
                               f'<img src="{base}/img.png"></body></html>')
    assert rendered.startswith(b"%PDF")
    assert hits == []


def test_pdf_renderers_take_turns_within_a_process(monkeypatch):
    """Four shoppers download their invoices at once from one worker's threads."""
    inside, most = [0], [0]
    lock = threading.Lock()

    def fake_renderer(*args, **kwargs):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.3)  # a real renderer: about half a second of CPU and its own heap
        with lock:
            inside[0] -= 1
        return subprocess.CompletedProcess(args, 0, stdout=b"%PDF-1.7 fake", stderr=b"")

    monkeypatch.setattr(subprocess, "run", fake_renderer)
    results = []
    threads = [threading.Thread(target=lambda: results.append(pdf.html_to_pdf("<p>x</p>")))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert most[0] == 1, f"{most[0]} renderer processes ran at once in one worker"
