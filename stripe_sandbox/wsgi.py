"""Run one HTTP request through a WSGI app in this thread: no socket, the same bytes."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from werkzeug.test import EnvironBuilder, run_wsgi_app

WSGIApp = Any


def answers_for(base_url: str, url: str) -> bool:
    """Say whether `url` lies under `base_url` (the app's mount point)."""
    return url == base_url or url.startswith(base_url + "/") or url.startswith(base_url + "?")


def call_wsgi(app: WSGIApp, base_url: str, method: str, url: str,
              headers: Mapping[str, str] | None, body: bytes | str | None
              ) -> tuple[bytes, int, Any]:
    """Send `url` (under `base_url`) to `app`; return (body, status, headers).

    The path of `base_url` becomes SCRIPT_NAME, so an app mounted under a prefix builds its
    links as it does behind a real dispatcher.
    """
    if not answers_for(base_url, url):
        raise ValueError(f"{url} is not under {base_url}")
    rest = urlsplit(url[len(base_url):] or "/")
    builder = EnvironBuilder(
        path=rest.path or "/", base_url=base_url, query_string=rest.query,
        method=method.upper(), headers=dict(headers or {}),
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

    def __init__(self, app: WSGIApp, base_url: str) -> None:
        super().__init__()
        self.app = app
        self.base_url = base_url

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> requests.Response:
        content, status, headers = call_wsgi(self.app, self.base_url, request.method or "GET",
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
