"""An HTTP client for the stripe SDK that reaches the sandbox without a socket."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import stripe
from flask import Flask
from werkzeug.datastructures import Headers

from checkout.sandbox.delivery import call_wsgi

SANDBOX_PATH = "/sandbox/stripe"


class InProcessHTTPClient(stripe.HTTPClient):
    """Dispatch SDK calls for this app's sandbox straight into its WSGI app.

    A single sync gunicorn worker would deadlock calling itself over HTTP; dispatching in
    process avoids that. Any other URL (real Stripe, another host) goes through requests.
    """

    name = "checkout-sandbox-inprocess"

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.app = app
        self.prefix = app.config["PUBLIC_BASE_URL"].rstrip("/") + SANDBOX_PATH
        self._fallback: stripe.RequestsClient | None = None

    def _handles(self, url: str) -> bool:
        return url == self.prefix or url.startswith(self.prefix + "/")

    @property
    def fallback(self) -> stripe.RequestsClient:
        if self._fallback is None:
            self._fallback = stripe.RequestsClient()
        return self._fallback

    def request(self, method: str, url: str, headers: Mapping[str, str] | None,
                post_data: Any = None, *, _usage: list[str] | None = None
                ) -> tuple[str, int, Mapping[str, str]]:
        """Send one SDK request; return (body, status, case-insensitive headers)."""
        if not self._handles(url):
            return self.fallback.request(method, url, headers, post_data, _usage=_usage)
        content, status, response_headers = call_wsgi(self.app, method, url, headers,
                                                      post_data)
        return content.decode("utf-8"), status, Headers(response_headers)

    def request_stream(self, method: str, url: str, headers: Mapping[str, str] | None,
                       post_data: Any = None, *, _usage: list[str] | None = None
                       ) -> tuple[Any, int, Mapping[str, str]]:
        """Send one SDK request and return its body as a stream."""
        if not self._handles(url):
            return self.fallback.request_stream(method, url, headers, post_data, _usage=_usage)
        content, status, response_headers = call_wsgi(self.app, method, url, headers,
                                                      post_data)
        return io.BytesIO(content), status, Headers(response_headers)

    def close(self) -> None:
        """Close the fallback HTTP session, if one was opened."""
        if self._fallback is not None:
            self._fallback.close()
            self._fallback = None
