"""Sign and POST events: in-process to this app's own URLs, over HTTP to anything else."""

from __future__ import annotations

import hashlib
import hmac
import io
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from flask import Flask
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from werkzeug.test import EnvironBuilder, run_wsgi_app

if TYPE_CHECKING:
    from checkout.sandbox.core import Sandbox

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    """Return `t=…,v1=…,v0=…` as Stripe signs `"{t}.{payload}"` with the endpoint secret."""
    v1 = hmac.new(secret.encode("utf-8"), f"{timestamp}.{payload}".encode(),
                  hashlib.sha256).hexdigest()
    # Test mode adds a v0 signature nobody can check, so receivers prove they ignore it.
    v0 = hashlib.sha256(f"v0.{timestamp}.{payload}".encode()).hexdigest()
    return f"t={timestamp},v1={v1},v0={v0}"


def call_wsgi(app: Flask, method: str, url: str, headers: Any, body: bytes | str | None
              ) -> tuple[bytes, int, Any]:
    """Run one request through `app` in this thread and return (body, status, headers)."""
    parts = urlsplit(url)
    builder = EnvironBuilder(
        path=parts.path or "/", base_url=f"{parts.scheme}://{parts.netloc}",
        query_string=parts.query, method=method.upper(), headers=dict(headers or {}),
        data=body if body is not None else b"")
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    app_iter, status, response_headers = run_wsgi_app(app, environ, buffered=True)
    try:
        content = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    return content, int(status.split(" ", 1)[0]), response_headers


class WSGIAdapter(BaseAdapter):
    """A requests transport adapter that answers from a WSGI app instead of a socket."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.app = app

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> requests.Response:
        content, status, headers = call_wsgi(self.app, request.method or "GET",
                                             request.url or "/", request.headers, request.body)
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(dict(headers.items()))
        response.raw = io.BytesIO(content)
        response._content = content
        response.url = request.url or ""
        response.request = request
        response.reason = ""
        return response

    def close(self) -> None:
        """Nothing to release: no sockets."""


class Deliverer:
    """Send signed event bodies for one delivery run, then close the HTTP session."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.mount(sandbox.public_base_url + "/", WSGIAdapter(sandbox.app))

    def __enter__(self) -> Deliverer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()

    def post(self, url: str, payload: str) -> tuple[int | None, str | None, int]:
        """POST exactly the signed bytes; return (status or None, error, duration ms)."""
        data = payload.encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Stripe-Signature": signature_header(payload, self.sandbox.webhook_secret,
                                                 int(time.time())),
        }
        from checkout.sandbox.core import DELIVERY_TIMEOUT

        started = time.monotonic()
        try:
            response = self.session.post(url, data=data, headers=headers,
                                         timeout=DELIVERY_TIMEOUT, allow_redirects=False)
        except requests.Timeout:
            return None, f"timed out after {DELIVERY_TIMEOUT:g} s", _ms(started)
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500], _ms(started)
        except Exception as exc:  # an in-process receiver that crashed is a failed delivery
            return 500, f"receiver raised {type(exc).__name__}: {exc}"[:500], _ms(started)
        with response:
            status = response.status_code
            error = None if 200 <= status < 300 else f"HTTP {status}"
        return status, error, _ms(started)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
