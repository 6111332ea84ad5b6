"""The PDF renderer process (`python -I checkout/pdf_process.py`): an HTML page on stdin, its
PDF on stdout. Started by `checkout.pdf.html_to_pdf` for each document; see there why. It runs
as a lone file, so it imports nothing from the shop."""

import sys

from weasyprint import HTML, URLFetcher


class NoFetching(URLFetcher):
    """Refuse every external resource: a document is rendered from its own HTML alone."""

    def fetch(self, url, *args, **kwargs):
        raise ValueError(f"documents load nothing from outside ({url})")


def render(html: str) -> bytes:
    """Render `html` as a PDF, loading nothing it refers to."""
    return HTML(string=html, url_fetcher=NoFetching()).write_pdf()


def main() -> None:
    sys.stdout.buffer.write(render(sys.stdin.buffer.read().decode("utf-8")))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
