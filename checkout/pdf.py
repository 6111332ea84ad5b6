"""HTML to PDF in a short-lived process of its own (`checkout.pdf_process`, started by
`checkout.lone_process`), never in the caller.

WeasyPrint brings Pango, HarfBuzz, fontTools and Pillow: importing it added ~25 MiB to every
gunicorn worker, and rendering a document a few MiB more that the worker kept for its whole
life, although PDFs are a rare download beside the pages every shopper loads. A child process
gives all of it back when the document is done, at the price of its start (about half a
second of CPU per PDF). Nothing else in the shop imports weasyprint
(tests/test_memory.py holds the app to that).
"""

import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path

from checkout.lone_process import LoneProcessFailed, run_alone

log = logging.getLogger(__name__)

_RENDERER = Path(__file__).resolve().with_name("pdf_process.py")

# A document of a few pages renders in well under a second; a stuck renderer must not hold
# the request until gunicorn kills the whole worker (GUNICORN_TIMEOUT, 30 s).
RENDER_TIMEOUT_SECONDS = 20


# Renderers take turns within a worker, as Argon2 does (models/user.py): each is a whole
# WeasyPrint process (~58 MiB and half a second of CPU for an invoice), and a worker's 8
# threads downloading at once would otherwise put 8 on the machine. The cache makes a miss
# rare; a queue of them waits here rather than crowding the cores and the memory.
_RENDERING = threading.BoundedSemaphore(1)


class PdfRenderingFailed(RuntimeError):
    """The renderer process failed or took too long: our fault, answered as a 500."""


def html_to_pdf(html: str) -> bytes:
    """Render a self-contained HTML page (it may load nothing from outside) as a PDF."""
    try:
        with _RENDERING:
            document = run_alone(_RENDERER, html.encode("utf-8"),
                                 timeout=RENDER_TIMEOUT_SECONDS, what="the PDF renderer")
    except LoneProcessFailed as exc:
        raise PdfRenderingFailed(str(exc)) from exc
    if not document.startswith(b"%PDF"):
        raise PdfRenderingFailed(f"the PDF renderer answered no PDF: {document[:40]!r}")
    return document


def cached_html_to_pdf(html: str, folder: str | Path | None) -> bytes:
    """The PDF of this HTML: read from `folder` if it was rendered before, else rendered and
    kept there (no folder: rendered every time).

    A document's HTML says everything its PDF shows, so the HTML's hash names the file: a
    document that changes (a template edited, a credit note issued) gets a new one, and a
    download of one already rendered costs a file read instead of a renderer process. Files
    appear whole (written beside, then renamed); one that is not a PDF is rendered again.
    """
    if not folder:
        return html_to_pdf(html)
    path = Path(folder) / f"{hashlib.sha256(html.encode('utf-8')).hexdigest()}.pdf"
    try:
        kept = path.read_bytes()
        if kept.startswith(b"%PDF") and kept.rstrip().endswith(b"%%EOF"):
            return kept
    except OSError:
        pass  # not rendered yet, or unreadable: render it
    document = html_to_pdf(html)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as part:
            part.write(document)
        os.replace(part.name, path)
    except OSError as exc:
        # A full disk or a read-only folder costs speed, never the download.
        log.warning("could not keep the rendered PDF in %s: %s", folder, exc)
    return document
