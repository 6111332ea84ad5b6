"""A `stripe.HTTPClient` that reaches a sandbox's WSGI app in this process, without a socket."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import stripe
from werkzeug.datastructures import Headers

from stripe_sandbox.wsgi import WSGIApp, answers_for, call_wsgi


class InProcessHTTPClient(stripe.HTTPClient):
    """Dispatch SDK calls for `base_url` straight into `app`.

    A single sync gunicorn worker would deadlock calling itself over HTTP; dispatching in
    process avoids that. Give the SDK the same `base_url` as its API base: a request for any
    other URL is a wiring mistake and fails loudly as a connection error.
    """

    name = "stripe-sandbox-inprocess"

    def __init__(self, app: WSGIApp, base_url: str) -> None:
        super().__init__()
        self.app = app
        self.base_url = base_url.rstrip("/")

    def _call(self, method: str, url: str, headers: Mapping[str, str] | None,
              post_data: Any) -> tuple[bytes, int, Headers]:
        if not answers_for(self.base_url, url):
            raise stripe.APIConnectionError(
                f"the in-process sandbox client only serves {self.base_url}, not {url}",
                should_retry=False)
        content, status, response_headers = call_wsgi(self.app, self.base_url, method, url,
                                                      headers, post_data)
        # The SDK reads response headers in any letter case.
        return content, status, Headers(response_headers)

    def request(self, method: str, url: str, headers: Mapping[str, str] | None,
                post_data: Any = None, *, _usage: list[str] | None = None
                ) -> tuple[str, int, Mapping[str, str]]:
        """Send one SDK request; return (body, status, case-insensitive headers)."""
        content, status, headers_out = self._call(method, url, headers, post_data)
        return content.decode("utf-8"), status, headers_out

    def request_stream(self, method: str, url: str, headers: Mapping[str, str] | None,
                       post_data: Any = None, *, _usage: list[str] | None = None
                       ) -> tuple[Any, int, Mapping[str, str]]:
        """Send one SDK request and return its body as a stream."""
        content, status, headers_out = self._call(method, url, headers, post_data)
        return io.BytesIO(content), status, headers_out

    def close(self) -> None:
        """Nothing to release: no sockets."""
