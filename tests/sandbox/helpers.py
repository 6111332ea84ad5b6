"""Raw HTTP helpers: call the sandbox API through the Flask test client, no SDK."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask

from .conftest import API_KEY


def encode(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Encode nested params with Stripe's bracket rules (lists indexed)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict):
            pairs += encode(value, name)
        elif isinstance(value, list):
            pairs += encode({str(i): item for i, item in enumerate(value)}, name)
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif value is not None:
            pairs.append((name, str(value)))
    return pairs


def call(app: Flask, method: str, path: str, params: dict[str, Any] | None = None, *,
         key: str | None = API_KEY, idempotency_key: str | None = None
         ) -> tuple[int, dict[str, Any], Any]:
    """Call the sandbox app at `path`; return (status, JSON body, headers)."""
    headers = {"Stripe-Version": "2026-10-28.endive"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    body = urlencode(encode(params or {}), safe="[]")
    client = app.test_client()
    if method == "GET":
        response = client.get(f"{path}?{body}", headers=headers)
    else:
        response = client.post(path, data=body, headers=headers,
                               content_type="application/x-www-form-urlencoded")
    return response.status_code, response.get_json(), response.headers
