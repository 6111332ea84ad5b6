"""HTML to PDF in a short-lived process of its own (`checkout.pdf_process`), never in the caller.

WeasyPrint brings Pango, HarfBuzz, fontTools and Pillow: importing it added ~25 MiB to every
gunicorn worker, and rendering a document a few MiB more that the worker kept for its whole
life, although PDFs are a rare download beside the pages every shopper loads. A child process
gives all of it back when the document is done, at the price of its start (about half a
second of CPU per PDF). Nothing else in the shop imports weasyprint
(tests/test_memory.py holds the app to that).
"""

import subprocess
import sys
from pathlib import Path

# Run as a file in isolated mode (-I): no `checkout` package (and Flask) to import first, and
# the checkout/ folder is not put on sys.path where its modules could shadow others.
_RENDERER = Path(__file__).resolve().with_name("pdf_process.py")

# A document of a few pages renders in well under a second; a stuck renderer must not hold
# the request until gunicorn kills the whole worker (GUNICORN_TIMEOUT, 30 s).
RENDER_TIMEOUT_SECONDS = 20


class PdfRenderingFailed(RuntimeError):
    """The renderer process failed or took too long: our fault, answered as a 500."""


def html_to_pdf(html: str) -> bytes:
    """Render a self-contained HTML page (it may load nothing from outside) as a PDF."""
    try:
        done = subprocess.run(
            [sys.executable, "-I", str(_RENDERER)],
            input=html.encode("utf-8"), capture_output=True, timeout=RENDER_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PdfRenderingFailed(
            f"the PDF renderer took longer than {RENDER_TIMEOUT_SECONDS} s") from exc
    if done.returncode != 0 or not done.stdout.startswith(b"%PDF"):
        problem = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        raise PdfRenderingFailed(
            f"the PDF renderer exited with {done.returncode}: {problem[0][:300]}")
    return done.stdout
