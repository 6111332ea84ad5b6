"""The standalone sandbox's settings: defaults, the environment, and what it refuses."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_PORT = 12111
ENV_PREFIX = "STRIPE_SANDBOX"


def defaults(instance_path: Path) -> dict[str, Any]:
    """Return every setting with the value the sandbox runs with when nobody says otherwise."""
    return {
        # The only Bearer key the API accepts, and the secret webhooks are signed with.
        "API_KEY": "sk_test_sandbox",
        "WEBHOOK_SECRET": "whsec_sandbox",
        # Where events are delivered: one URL, a comma-separated list, or a list.
        "WEBHOOK_URL": [],
        "DATABASE_URL": f"sqlite:///{instance_path / 'stripe_sandbox.sqlite'}",
        # Where the sandbox is reached from outside (session urls point at its hosted page).
        "PUBLIC_URL": f"http://127.0.0.1:{DEFAULT_PORT}",
        # The account name the hosted page shows the shopper ("Pay <name>").
        "DISPLAY_NAME": "Sandbox account",
        # The delivery/expiry thread; tests switch it off and drive delivery themselves.
        "BACKGROUND": True,
        "WORKER_INTERVAL": 1.0,
        # The wall clock the sandbox clock is offset from (advance_clock adds to it).
        "CLOCK": time.time,
        # Stripe refuses request bodies this large long before; so do we.
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "MAX_FORM_PARTS": 2000,
    }


def endpoints_of(raw: Any) -> list[str]:
    """Read WEBHOOK_URL (a string, comma-separated, or a list) into a list of URLs."""
    if isinstance(raw, str):
        raw = raw.split(",")
    return [str(url).strip() for url in raw or [] if url and str(url).strip()]


def check(config: Mapping[str, Any]) -> None:
    """Refuse settings the sandbox must never run with."""
    if not str(config["API_KEY"]).startswith("sk_test_"):
        raise RuntimeError("the payment sandbox only accepts an sk_test_… API key")
    if not str(config["WEBHOOK_SECRET"]).startswith("whsec_"):
        raise RuntimeError("the sandbox webhook secret must start with whsec_")
    if str(config["PUBLIC_URL"]).endswith("/"):
        raise RuntimeError("PUBLIC_URL must not end with '/' (the SDK appends /v1/…)")
    if not callable(config["CLOCK"]):
        raise RuntimeError("CLOCK must be a callable returning unix time")
